/**
 * Checks a user-supplied GGUF file before llama.cpp sees it. A malformed file can abort the whole
 * process from native code (uncatchable), so the header is read with the library's own GGUF
 * reader first, the keys llama.cpp needs are looked for, and the tensor data is checked to lie
 * inside the file (a truncated download). Anything wrong is a ConfigError naming the file.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { ConfigError } from '../errors.js';

export interface ModelFileInfo {
  path: string;
  name: string;
  architecture: string;
  contextLength: number;
  sizeBytes: number;
}

// Bytes per block and elements per block of the ggml tensor types a chat model uses.
const TYPE_SIZES: Record<number, [bytes: number, elements: number]> = {
  0: [4, 1], // F32
  1: [2, 1], // F16
  2: [18, 32], // Q4_0
  3: [20, 32], // Q4_1
  6: [22, 32], // Q5_0
  7: [24, 32], // Q5_1
  8: [34, 32], // Q8_0
  9: [36, 32], // Q8_1
  10: [84, 256], // Q2_K
  11: [110, 256], // Q3_K
  12: [144, 256], // Q4_K
  13: [176, 256], // Q5_K
  14: [210, 256], // Q6_K
  15: [292, 256], // Q8_K
  30: [2, 1], // BF16
};

function bad(path: string, why: string, cause?: unknown): ConfigError {
  return new ConfigError(
    `the model file ${path} (CRM_MAIL_MODEL) is not a usable GGUF model: ${why}. ` +
      'Point CRM_MAIL_MODEL at a complete .gguf file, or use the rule drafter (CRM_MAIL_DRAFTER=rule).',
    cause === undefined ? undefined : { cause },
  );
}

function readMagic(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(4);
    const read = readSync(fd, buffer, 0, 4, 0);
    return buffer.subarray(0, read).toString('latin1');
  } finally {
    closeSync(fd);
  }
}

function numberOf(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  return undefined;
}

/** Validates the file and returns what the drafter needs to know about it. */
export async function validateModelFile(path: string): Promise<ModelFileInfo> {
  let size: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw bad(path, 'it is not a file');
    size = stat.size;
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`the model file ${path} (CRM_MAIL_MODEL) cannot be read: ${(error as Error).message}.`, { cause: error });
  }
  if (size < 32 || readMagic(path) !== 'GGUF') throw bad(path, 'it does not start with the GGUF signature');

  const { readGgufFileInfo } = await import('node-llama-cpp');
  let info: Awaited<ReturnType<typeof readGgufFileInfo>>;
  try {
    info = await readGgufFileInfo(path, { sourceType: 'filesystem', logWarnings: false, readTensorInfo: true, spliceSplitFiles: false });
  } catch (error) {
    throw bad(path, `its header cannot be read (${(error as Error).message})`, error);
  }

  const metadata = info.metadata as unknown as Record<string, Record<string, unknown> | undefined>;
  const architecture = (metadata.general as { architecture?: unknown } | undefined)?.architecture;
  if (typeof architecture !== 'string' || architecture === '') throw bad(path, 'general.architecture is missing');
  const arch = (metadata[architecture] ?? {}) as Record<string, unknown>;
  const attention = (arch.attention ?? {}) as Record<string, unknown>;
  const required: Array<[string, unknown]> = [
    [`${architecture}.context_length`, arch.context_length],
    [`${architecture}.embedding_length`, arch.embedding_length],
    [`${architecture}.block_count`, arch.block_count],
    [`${architecture}.feed_forward_length`, arch.feed_forward_length],
    [`${architecture}.attention.head_count`, attention.head_count],
  ];
  const missing = required.filter(([, value]) => value === undefined).map(([key]) => key);
  const tokenizer = ((metadata.tokenizer ?? {}) as Record<string, unknown>).ggml as Record<string, unknown> | undefined;
  if (!tokenizer?.model) missing.push('tokenizer.ggml.model');
  if (!Array.isArray(tokenizer?.tokens) || tokenizer.tokens.length === 0) missing.push('tokenizer.ggml.tokens');
  if (missing.length > 0) throw bad(path, `required metadata is missing (${missing.join(', ')})`);

  checkTensorData(path, info, size);
  return {
    path,
    name: basename(path),
    architecture,
    contextLength: numberOf(arch.context_length) ?? 0,
    sizeBytes: size,
  };
}

interface TensorInfoLike {
  name: string;
  dimensions: readonly (number | bigint)[];
  ggmlType: number;
  offset: number | bigint;
  /** The data's offset from the start of the file, as the library's parser computes it. */
  fileOffset?: number | bigint;
}

/** Every tensor's data must end inside the file: a cut download fails here, not in native code. */
function checkTensorData(path: string, info: { infoEndOffset?: number; tensorInfo?: readonly unknown[]; tensorCount: number | bigint }, size: number): void {
  const tensors = (info.tensorInfo ?? []) as TensorInfoLike[];
  if (Number(info.tensorCount) === 0 || tensors.length === 0) throw bad(path, 'it holds no tensors');
  const dataStart = info.infoEndOffset;
  if (dataStart === undefined || dataStart > size) throw bad(path, 'the file ends inside its header');
  for (const tensor of tensors) {
    const elements = tensor.dimensions.reduce<number>((product, dim) => product * Number(dim), 1);
    const typeSize = TYPE_SIZES[tensor.ggmlType];
    const bytes = typeSize ? Math.ceil(elements / typeSize[1]) * typeSize[0] : 1;
    const end = (tensor.fileOffset !== undefined ? Number(tensor.fileOffset) : dataStart + Number(tensor.offset)) + bytes;
    if (end > size) {
      throw bad(path, `the file is truncated: tensor ${tensor.name} needs bytes up to ${end} but the file has ${size}`);
    }
  }
}
