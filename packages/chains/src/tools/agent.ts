/** A tool-calling agent: the model calls tools until it answers, up to a step limit. */
import { ChainsError, InputError } from '../errors.js';
import { ToolMessage, type AIMessage, type BaseMessage, type ToolCall } from '../messages/index.js';
import type { BaseChatModel } from '../models/base.js';
import { MessagesPlaceholder, type ChatPromptTemplate } from '../prompts/index.js';
import { Runnable, type RunContext, type RunnableConfig } from '../runnables/index.js';
import type { StructuredTool } from './tool.js';

/**
 * The agent's step: prompt (with the `agent_scratchpad` placeholder, where the tool calls and
 * results so far go) | the model with the tools bound.
 *
 *   const prompt = ChatPromptTemplate.fromMessages([
 *     ['system', 'You are a helpful assistant.'],
 *     ['human', '{input}'],
 *     new MessagesPlaceholder('agent_scratchpad'),
 *   ]);
 *   const agent = createToolCallingAgent({ llm: model, tools, prompt });
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function createToolCallingAgent({ llm, tools, prompt }: { llm: BaseChatModel; tools: readonly StructuredTool<any, any>[]; prompt: ChatPromptTemplate }): Runnable<Record<string, unknown>, AIMessage> {
  if (!prompt.promptMessages.some((p) => p instanceof MessagesPlaceholder && p.variableName === 'agent_scratchpad')) {
    throw new InputError('createToolCallingAgent', "the prompt needs new MessagesPlaceholder('agent_scratchpad'), where the tool calls and results go", 'agent_scratchpad');
  }
  return prompt.pipe(llm.bindTools(tools)).withConfig({ runName: 'ToolCallingAgent' }) as Runnable<Record<string, unknown>, AIMessage>;
}

/** One tool call the agent made and what it got back. */
export interface AgentStep {
  action: ToolCall;
  observation: string;
}

export interface AgentExecutorFields {
  /** the step: gets the input plus `agent_scratchpad` (messages), returns an AIMessage */
  agent: Runnable<Record<string, unknown>, AIMessage>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  tools: readonly StructuredTool<any, any>[];
  /** 10: model calls before giving up */
  maxIterations?: number;
  /** 'force' (default): give up with output "Agent stopped due to max iterations."; 'error': throw */
  earlyStoppingMethod?: 'force' | 'error';
  /** false: also return `intermediateSteps` */
  returnIntermediateSteps?: boolean;
  /** true: a tool that throws tells the model the error (so it can try again); false: the run fails */
  handleToolErrors?: boolean;
}

export interface AgentOutput {
  output: string;
  intermediateSteps?: AgentStep[];
  [key: string]: unknown;
}

/**
 * Runs the agent in a loop: while the model asks for tools, calls them (concurrently within a
 * step) and shows it the results; its first answer without tool calls is the output. Unknown tools
 * and bad arguments are reported back to the model as errors.
 *
 *   const executor = new AgentExecutor({ agent, tools, maxIterations: 5 });
 *   const { output } = await executor.invoke({ input: 'What is 3 * (4 + 5)?' });
 */
export class AgentExecutor extends Runnable<Record<string, unknown>, AgentOutput> {
  readonly agent: Runnable<Record<string, unknown>, AIMessage>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly tools: ReadonlyMap<string, StructuredTool<any, any>>;
  readonly maxIterations: number;

  constructor(readonly fields: AgentExecutorFields) {
    super();
    this.agent = fields.agent;
    this.tools = new Map(fields.tools.map((t) => [t.name!, t]));
    this.maxIterations = fields.maxIterations ?? 10;
    if (!(Number.isInteger(this.maxIterations) && this.maxIterations >= 1)) throw new ChainsError('AgentExecutor', `maxIterations must be an integer >= 1, got ${fields.maxIterations}`);
  }

  async #call(call: ToolCall, config: RunnableConfig): Promise<ToolMessage> {
    const id = call.id ?? '';
    const t = this.tools.get(call.name);
    if (!t) return new ToolMessage({ content: `Error: ${call.name} is not a valid tool, try one of [${[...this.tools.keys()].join(', ')}].`, toolCallId: id, status: 'error' });
    try {
      return (await t.invoke(call, config)) as ToolMessage;
    } catch (e) {
      if (this.fields.handleToolErrors === false || (config.signal?.aborted ?? false)) throw e;
      return new ToolMessage({ content: `Error: ${(e as Error).message ?? e}`, toolCallId: id, status: 'error' });
    }
  }

  protected override async _invoke(input: Record<string, unknown>, config: RunnableConfig, _run: RunContext): Promise<AgentOutput> {
    const scratchpad: BaseMessage[] = [];
    const steps: AgentStep[] = [];
    const done = (output: string): AgentOutput => ({ ...input, output, ...(this.fields.returnIntermediateSteps ? { intermediateSteps: steps } : {}) });
    for (let i = 0; i < this.maxIterations; i++) {
      const msg = await this.agent.invoke({ ...input, agent_scratchpad: scratchpad }, config);
      if (!msg.toolCalls.length && !msg.invalidToolCalls.length) return done(msg.content);
      scratchpad.push(msg);
      const results = await Promise.all(msg.toolCalls.map((c) => this.#call(c, config)));
      for (const bad of msg.invalidToolCalls) results.push(new ToolMessage({ content: `Error: the call of ${bad.name ?? 'a tool'} could not be read: ${bad.error}`, toolCallId: bad.id ?? '', status: 'error' }));
      msg.toolCalls.forEach((c, j) => steps.push({ action: c, observation: results[j].content }));
      scratchpad.push(...results);
    }
    if (this.fields.earlyStoppingMethod === 'error') throw new ChainsError('AgentExecutor', `no final answer after maxIterations (${this.maxIterations}) model calls; the last asked for ${steps.at(-1)?.action.name ?? 'nothing'}`);
    return done('Agent stopped due to max iterations.');
  }
}
