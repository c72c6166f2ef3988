/**
 * @dl/bert: BERT with Hugging Face's parameter names and folder layout (BertModel, BertForMaskedLM,
 * BertForSequenceClassification), mean-pooled sentence embeddings, a WordPiece tokenizer and MLM masking.
 */
