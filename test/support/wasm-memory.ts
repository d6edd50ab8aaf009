import { closeSync, openSync, readFileSync, readSync } from 'node:fs';

/**
 * How much of a WebAssembly memory the operating system holds in RAM (Linux only: /proc/self/pagemap).
 * A WebAssembly memory never shrinks, and its size says nothing of what is used: PGlite's starts at
 * 128 MB, mostly never touched. The pages touched are what a leak inside it adds to the process's RSS,
 * without the garbage collector's swings of the rest of the process.
 */
export function residentBytes(memory: ArrayBuffer): number {
  const start = mappingOf(memory);
  const pages = memory.byteLength / PAGE;
  const entries = Buffer.alloc(pages * 8);
  readAt('/proc/self/pagemap', entries, (start / BigInt(PAGE)) * 8n);
  let resident = 0;
  // Bit 63 of each little-endian entry: the page is present in RAM.
  for (let page = 0; page < pages; page++) if (entries[page * 8 + 7]! & 0x80) resident++;
  return resident * PAGE;
}

export const canMeasureResidentPages = process.platform === 'linux';

const PAGE = 4096;

/** The address the memory is mapped at: the writable mapping holding the same bytes as the buffer. */
function mappingOf(memory: ArrayBuffer): bigint {
  const bytes = new Uint8Array(memory);
  const probe = firstNonZeroPage(bytes);
  const expected = Buffer.from(memory, probe, PAGE);
  const seen = Buffer.alloc(PAGE);
  for (const line of readFileSync('/proc/self/maps', 'utf8').split('\n')) {
    const match = /^([0-9a-f]+)-([0-9a-f]+) rw/.exec(line);
    if (!match) continue;
    const start = BigInt(`0x${match[1]}`);
    if (BigInt(`0x${match[2]}`) - start < BigInt(memory.byteLength)) continue;
    try {
      readAt('/proc/self/mem', seen, start + BigInt(probe));
    } catch {
      continue; // a mapping that cannot be read through /proc (a guard page, say)
    }
    if (seen.equals(expected)) return start;
  }
  throw new Error('the WebAssembly memory is not among this process’s mappings');
}

function firstNonZeroPage(bytes: Uint8Array): number {
  for (let offset = 1 << 20; offset < bytes.length; offset += PAGE) {
    if (bytes.subarray(offset, offset + PAGE).some((byte) => byte !== 0)) return offset;
  }
  throw new Error('the WebAssembly memory holds nothing to recognise it by');
}

function readAt(path: string, into: Buffer, position: bigint): void {
  const fd = openSync(path, 'r');
  try {
    readSync(fd, into, 0, into.length, position);
  } finally {
    closeSync(fd);
  }
}
