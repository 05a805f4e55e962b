import { availableParallelism } from 'node:os';

/** Runs at most `size` tasks at once; tasks queue in call order. */
export const createPool = (size = availableParallelism()) => {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (running >= size) await new Promise<void>((r) => waiting.push(r));
    running++;
    try {
      return await task();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
};
