import { describe, expect, it } from 'vitest';
import { deviceLabelOf } from './device-label.js';

describe('deviceLabelOf', () => {
  it('names the browser and the system, without versions', () => {
    const chrome = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
    expect(deviceLabelOf(chrome)).toBe('Chrome on macOS');
    const firefox = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0';
    expect(deviceLabelOf(firefox)).toBe('Firefox on Windows');
  });

  it('answers null for no user agent and keeps odd ones short and plain', () => {
    expect(deviceLabelOf(undefined)).toBeNull();
    expect(deviceLabelOf('')).toBeNull();
    const label = deviceLabelOf(`curl/8.5.0 ${'<script>'.repeat(200)}`);
    expect(label === null || (label.length <= 80 && !label.includes('<'))).toBe(true);
  });
});
