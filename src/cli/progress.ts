import { Presets, SingleBar } from 'cli-progress';

/**
 * Progress on stderr: a bar with rate and ETA on a terminal, plain lines otherwise (logs, CI, pipes)
 * — at most one line every few seconds and one at the end.
 */
export interface Progress {
  update(done: number, items: number): void;
  finish(done: number, items: number): void;
}

export function progress(label: string, total: number, unit: 'bytes' | 'items'): Progress {
  const started = Date.now();
  const rate = (items: number): string => {
    const s = (Date.now() - started) / 1000;
    return s > 0 ? String(Math.round(items / s)) : '0';
  };
  const fmt = (n: number): string => (unit === 'bytes' ? `${(n / 1e6).toFixed(1)} MB` : String(n));

  if (process.stderr.isTTY) {
    const bar = new SingleBar(
      {
        stream: process.stderr,
        format: `${label} [{bar}] {percentage}% | {shown} | {items} items | {rate} items/s | ETA {eta_formatted}`,
        hideCursor: true,
        etaBuffer: 20,
        fps: 5,
      },
      Presets.shades_classic,
    );
    bar.start(Math.max(total, 1), 0, { shown: `${fmt(0)}/${fmt(total)}`, items: 0, rate: '0' });
    const payload = (done: number, items: number) => ({
      shown: `${fmt(done)}/${fmt(total)}`,
      items,
      rate: rate(items),
    });
    return {
      update: (done, items) => bar.update(Math.min(done, total), payload(done, items)),
      finish: (done, items) => {
        bar.update(Math.min(done, total), payload(done, items));
        bar.stop();
      },
    };
  }

  let lastLine = 0;
  const line = (done: number, items: number): void => {
    const pct = total > 0 ? ` (${Math.min(100, Math.round((done / total) * 100))}%)` : '';
    process.stderr.write(
      `${label}: ${items} items, ${fmt(done)} of ${fmt(total)}${pct}, ${rate(items)} items/s\n`,
    );
  };
  return {
    update: (done, items) => {
      if (Date.now() - lastLine < 2_000) return;
      lastLine = Date.now();
      line(done, items);
    },
    finish: (done, items) => line(done, items),
  };
}
