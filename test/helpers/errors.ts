// "Expect a rejection" once: the error a promise rejects with (or a function throws), checked
// to be of the expected class, so a test goes on to assert its message, details and hint.
import { expect } from 'vitest';

type ErrorClass<E> = abstract new (...args: never[]) => E;

/** The error `p` rejects with; fails the test if it resolves or rejects with another class. */
export async function rejection<E extends Error = Error>(p: Promise<unknown>, type?: ErrorClass<E>): Promise<E> {
  try {
    await p;
  } catch (err) {
    if (type) expect(err).toBeInstanceOf(type);
    return err as E;
  }
  throw new Error(`expected a rejection${type ? ` with ${type.name}` : ''}`);
}

/** The error `fn` throws; fails the test if it returns or throws another class. */
export function thrownBy<E extends Error = Error>(fn: () => unknown, type?: ErrorClass<E>): E {
  try {
    fn();
  } catch (err) {
    if (type) expect(err).toBeInstanceOf(type);
    return err as E;
  }
  throw new Error(`expected an error${type ? ` (${type.name})` : ''}`);
}
