/** `dl serve` and `dl chat`: an OpenAI-compatible server over the models trained here, and a terminal chat. */
import { CHAT_OPTIONS, chatCommand } from './chat.js';
import { SERVE_OPTIONS, optionHelp, serveCommand } from './command.js';

/** The lines `dl --help` shows for serve and chat. */
export const SERVE_HELP: readonly string[] = [
  '  dl serve --model NAME=PATH [--model NAME=PATH ...]',
  '    an OpenAI-compatible HTTP server (GET /v1/models, POST /v1/chat/completions, /v1/completions, /v1/embeddings) over gpt-char checkpoints, GPT-2 folders and BERT folders',
  ...optionHelp(SERVE_OPTIONS),
  '',
  '  dl chat --model NAME --checkpoint PATH | --base-url URL --model NAME',
  '    a terminal chat that streams the replies (one message per line of stdin)',
  ...optionHelp(CHAT_OPTIONS),
  '',
];

export { serveCommand, chatCommand, SERVE_OPTIONS, CHAT_OPTIONS };
export { startServer, type DlServer, type ServeOptions } from './server.js';
export { loadServedModel, parseModelSpec, disposeModels, type ServedModel, type TextModel, type EmbeddingModel } from './models.js';
