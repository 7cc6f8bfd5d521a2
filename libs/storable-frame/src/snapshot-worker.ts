import { parentPort } from 'node:worker_threads';
import { writeGeneration } from './write-generation';
import { WriteRequest } from './types';

// Serializes and writes snapshots off the event loop; one request at a time.
parentPort?.on('message', (req: WriteRequest) => {
  try {
    parentPort?.postMessage({ ok: true, result: writeGeneration(req) });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    parentPort?.postMessage({ ok: false, error: { message: err.message, code: err.code, path: err.path, errno: err.errno } });
  }
});
