import { describe, expect, it } from 'vitest';
import { parseDuration, formatDuration } from '../../src/duration.js';
import { isCronExpression, nextDue } from '../../src/schedule.js';

describe('durations and schedules', () => {
  it('parses the units of the config', () => {
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('5s')).toBe(5000);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('5')).toBeUndefined();
    expect(parseDuration('-5s')).toBeUndefined();
  });
  it('formats for people', () => {
    expect(formatDuration(0.5)).toBe('0.50ms');
    expect(formatDuration(42)).toBe('42ms');
    expect(formatDuration(2400)).toBe('2.4s');
    expect(formatDuration(3_725_000)).toBe('1h 2m');
  });
  it('tells cron expressions apart', () => {
    expect(isCronExpression('0 * * * *')).toBe(true);
    expect(isCronExpression('*/5 * * * *')).toBe(true);
    expect(isCronExpression('61 * * * *')).toBe(false);
    expect(isCronExpression('1h')).toBe(false);
  });
  it('computes the next due time', () => {
    const last = new Date('2026-01-01T10:20:00Z');
    expect(nextDue('1h', last).toISOString()).toBe('2026-01-01T11:20:00.000Z');
    expect(nextDue('0 * * * *', last).toISOString()).toBe('2026-01-01T11:00:00.000Z');
  });
});
