/**
 * `crm-mail doctor --model`: validate the GGUF file with the activity module's own checker (a
 * malformed file can abort the process from native code, so nothing is loaded until its header
 * reads cleanly and every tensor lies inside the file), then load the model with the prebuilt CPU
 * binary, as the drafter would, and release it. Loaded lazily: node-llama-cpp is heavy.
 */
import { cpus } from 'node:os';
import { validateModelFile } from '../activity/modelFile.js';

export async function probeModel(path: string, threads: number | undefined): Promise<{ summary: string }> {
  const info = await validateModelFile(path);
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
  const started = Date.now();
  const llama = await getLlama({ build: 'never', gpu: false, logLevel: LlamaLogLevel.error, maxThreads: threads ?? cpus().length });
  try {
    const model = await llama.loadModel({ modelPath: path });
    const elapsed = Date.now() - started;
    const summary = `GGUF ${info.architecture}, context ${info.contextLength}, loaded in ${elapsed} ms`;
    await model.dispose();
    return { summary };
  } finally {
    await llama.dispose();
  }
}
