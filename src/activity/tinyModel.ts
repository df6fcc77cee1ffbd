/**
 * Writes a tiny, deterministic GGUF v3 model (architecture `llama`, random weights from a seed) so
 * tests, the demo and benchmarks run the real node-llama-cpp without downloading anything. Its
 * output is nonsense; with a JSON-schema grammar it is still well-formed `{"note": "..."}`.
 *
 * Layout (GGUF v3): magic, version, tensor count, key-value count; typed key-values; tensor
 * infos (dims innermost first, type, offset into the data section); data aligned to 32 bytes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const ALIGNMENT = 32;
const EMBEDDING = 64;
const FEED_FORWARD = 128;
const HEADS = 4;
const LAYERS = 2;
const CONTEXT = 2048;

// GGUF value types.
const UINT32 = 4;
const INT32 = 5;
const FLOAT32 = 6;
const STRING = 8;
const ARRAY = 9;

// llama.cpp token types.
const NORMAL = 1;
const UNKNOWN = 2;
const CONTROL = 3;
const BYTE = 6;

type Value =
  | { type: typeof UINT32 | typeof FLOAT32; value: number }
  | { type: typeof STRING; value: string }
  | { type: typeof ARRAY; of: typeof STRING; values: string[] }
  | { type: typeof ARRAY; of: typeof FLOAT32 | typeof INT32; values: number[] };

/** Grows a buffer as bytes are appended; little-endian throughout, as GGUF is. */
class ByteWriter {
  private buffer = Buffer.alloc(1 << 16);
  length = 0;

  private ensure(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + extra) size *= 2;
    const next = Buffer.alloc(size);
    this.buffer.copy(next, 0, 0, this.length);
    this.buffer = next;
  }
  u32(value: number): void {
    this.ensure(4);
    this.buffer.writeUInt32LE(value, this.length);
    this.length += 4;
  }
  i32(value: number): void {
    this.ensure(4);
    this.buffer.writeInt32LE(value, this.length);
    this.length += 4;
  }
  u64(value: number): void {
    this.ensure(8);
    this.buffer.writeBigUInt64LE(BigInt(value), this.length);
    this.length += 8;
  }
  f32(value: number): void {
    this.ensure(4);
    this.buffer.writeFloatLE(value, this.length);
    this.length += 4;
  }
  bytes(data: Buffer): void {
    this.ensure(data.length);
    data.copy(this.buffer, this.length);
    this.length += data.length;
  }
  string(text: string): void {
    const data = Buffer.from(text, 'utf8');
    this.u64(data.length);
    this.bytes(data);
  }
  padTo(alignment: number): void {
    const pad = (alignment - (this.length % alignment)) % alignment;
    this.ensure(pad);
    this.buffer.fill(0, this.length, this.length + pad);
    this.length += pad;
  }
  result(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

/** mulberry32: a small seeded generator, so the same seed always gives the same file. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Pieces a SentencePiece vocabulary would have: printable characters and some common words. */
const WORDS = [
  'the', 'and', 'to', 'of', 'a', 'in', 'for', 'on', 'with', 'at', 'by', 'from', 'we', 'you', 'they', 'it', 'is', 'are',
  'was', 'will', 'be', 'our', 'your', 'their', 'this', 'that', 'fund', 'meeting', 'call', 'deck', 'data', 'room',
  'commitment', 'allocation', 'investor', 'partner', 'next', 'week', 'follow', 'up', 'sent', 'received', 'asked',
  'about', 'terms', 'fee', 'carry', 'close', 'first', 'second', 'final', 'LP', 'LPA', 'side', 'letter', 'due',
  'diligence', 'questions', 'answers', 'thanks', 'agreed', 'schedule', 'intro', 'update', 'quarterly', 'report',
  'note', 'Re', 'Fwd', 'interest', 'interested', 'pass', 'decline', 'review', 'legal', 'team', 'Monday', 'Friday',
];

interface Vocabulary {
  tokens: string[];
  scores: number[];
  types: number[];
}

function buildVocabulary(): Vocabulary {
  const tokens = ['<unk>', '<s>', '</s>'];
  const types = [UNKNOWN, CONTROL, CONTROL];
  for (let byte = 0; byte < 256; byte++) {
    tokens.push(`<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(BYTE);
  }
  const pieces = new Set<string>();
  for (let code = 0x21; code < 0x7f; code++) pieces.add(String.fromCharCode(code));
  pieces.add('\u2581');
  for (const word of WORDS) {
    pieces.add(`\u2581${word}`);
    pieces.add(word);
  }
  for (const piece of pieces) {
    tokens.push(piece);
    types.push(NORMAL);
  }
  // Longer pieces score higher so the tokenizer prefers whole words over characters.
  const scores = tokens.map((token, index) => (types[index] === NORMAL ? -1000 + token.length * 10 - index * 0.001 : 0));
  return { tokens, scores, types };
}

interface TensorSpec {
  name: string;
  /** Dimensions innermost first, as GGUF stores them. */
  dims: number[];
  fill: 'ones' | 'random';
}

function tensorSpecs(vocabularySize: number): TensorSpec[] {
  const specs: TensorSpec[] = [
    { name: 'token_embd.weight', dims: [EMBEDDING, vocabularySize], fill: 'random' },
    { name: 'output_norm.weight', dims: [EMBEDDING], fill: 'ones' },
    { name: 'output.weight', dims: [EMBEDDING, vocabularySize], fill: 'random' },
  ];
  for (let layer = 0; layer < LAYERS; layer++) {
    const prefix = `blk.${layer}`;
    specs.push(
      { name: `${prefix}.attn_norm.weight`, dims: [EMBEDDING], fill: 'ones' },
      { name: `${prefix}.attn_q.weight`, dims: [EMBEDDING, EMBEDDING], fill: 'random' },
      { name: `${prefix}.attn_k.weight`, dims: [EMBEDDING, EMBEDDING], fill: 'random' },
      { name: `${prefix}.attn_v.weight`, dims: [EMBEDDING, EMBEDDING], fill: 'random' },
      { name: `${prefix}.attn_output.weight`, dims: [EMBEDDING, EMBEDDING], fill: 'random' },
      { name: `${prefix}.ffn_norm.weight`, dims: [EMBEDDING], fill: 'ones' },
      { name: `${prefix}.ffn_gate.weight`, dims: [EMBEDDING, FEED_FORWARD], fill: 'random' },
      { name: `${prefix}.ffn_up.weight`, dims: [EMBEDDING, FEED_FORWARD], fill: 'random' },
      { name: `${prefix}.ffn_down.weight`, dims: [FEED_FORWARD, EMBEDDING], fill: 'random' },
    );
  }
  return specs;
}

function writeValue(writer: ByteWriter, value: Value): void {
  writer.u32(value.type);
  switch (value.type) {
    case UINT32:
      writer.u32(value.value);
      return;
    case FLOAT32:
      writer.f32(value.value);
      return;
    case STRING:
      writer.string(value.value);
      return;
    case ARRAY:
      writer.u32(value.of);
      writer.u64(value.values.length);
      if (value.of === STRING) for (const item of value.values) writer.string(item);
      else if (value.of === FLOAT32) for (const item of value.values as number[]) writer.f32(item);
      else for (const item of value.values as number[]) writer.i32(item);
  }
}

/**
 * The bytes of the tiny model for a seed; `writeTinyModel` puts them in a file. `omitKeys` leaves
 * metadata out, to make the malformed files llama.cpp would abort on (for the validation tests).
 */
export function tinyModelBytes(seed = 7, options: { omitKeys?: readonly string[] } = {}): Buffer {
  const vocabulary = buildVocabulary();
  const allMetadata: Array<[string, Value]> = [
    ['general.architecture', { type: STRING, value: 'llama' }],
    ['general.name', { type: STRING, value: 'crm-mail tiny test model' }],
    ['general.alignment', { type: UINT32, value: ALIGNMENT }],
    ['llama.context_length', { type: UINT32, value: CONTEXT }],
    ['llama.embedding_length', { type: UINT32, value: EMBEDDING }],
    ['llama.block_count', { type: UINT32, value: LAYERS }],
    ['llama.feed_forward_length', { type: UINT32, value: FEED_FORWARD }],
    ['llama.attention.head_count', { type: UINT32, value: HEADS }],
    ['llama.attention.head_count_kv', { type: UINT32, value: HEADS }],
    ['llama.rope.dimension_count', { type: UINT32, value: EMBEDDING / HEADS }],
    ['llama.attention.layer_norm_rms_epsilon', { type: FLOAT32, value: 1e-5 }],
    ['tokenizer.ggml.model', { type: STRING, value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: ARRAY, of: STRING, values: vocabulary.tokens }],
    ['tokenizer.ggml.scores', { type: ARRAY, of: FLOAT32, values: vocabulary.scores }],
    ['tokenizer.ggml.token_type', { type: ARRAY, of: INT32, values: vocabulary.types }],
    ['tokenizer.ggml.unknown_token_id', { type: UINT32, value: 0 }],
    ['tokenizer.ggml.bos_token_id', { type: UINT32, value: 1 }],
    ['tokenizer.ggml.eos_token_id', { type: UINT32, value: 2 }],
  ];
  const metadata = allMetadata.filter(([key]) => !options.omitKeys?.includes(key));
  const tensors = tensorSpecs(vocabulary.tokens.length);

  const writer = new ByteWriter();
  writer.bytes(Buffer.from('GGUF', 'ascii'));
  writer.u32(3);
  writer.u64(tensors.length);
  writer.u64(metadata.length);
  for (const [key, value] of metadata) {
    writer.string(key);
    writeValue(writer, value);
  }
  let offset = 0;
  const sizes = tensors.map((tensor) => tensor.dims.reduce((product, dim) => product * dim, 1) * 4);
  tensors.forEach((tensor, index) => {
    writer.string(tensor.name);
    writer.u32(tensor.dims.length);
    for (const dim of tensor.dims) writer.u64(dim);
    writer.u32(0); // F32
    writer.u64(offset);
    offset += Math.ceil(sizes[index]! / ALIGNMENT) * ALIGNMENT;
  });
  writer.padTo(ALIGNMENT);

  const random = seededRandom(seed);
  tensors.forEach((tensor, index) => {
    const count = sizes[index]! / 4;
    // Scale by fan-in so activations stay in a sane range through the layers.
    const scale = 1 / Math.sqrt(tensor.dims[0]!);
    for (let i = 0; i < count; i++) writer.f32(tensor.fill === 'ones' ? 1 : (random() * 2 - 1) * scale);
    writer.padTo(ALIGNMENT);
  });
  return writer.result();
}

/** Writes the tiny deterministic model to `path` (a few hundred KB, well under a second). */
export function writeTinyModel(path: string, opts: { seed?: number } = {}): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, tinyModelBytes(opts.seed ?? 7));
}
