import type { JsonObject, JsonValue } from '../store/types.js';

/**
 * Sets a field of a JSON object built from pushed data. In pushed JSON `__proto__` is an ordinary
 * key; a plain assignment would change the object's prototype instead of adding the field.
 */
export function setField(obj: JsonObject, key: string, value: JsonValue): void {
  if (key === '__proto__') {
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  } else obj[key] = value;
}
