/**
 * The benchmark's data: realistic ICAR resources (milking visits, weighings, animals) of about 600
 * bytes each, generated deterministically so every system under test gets the same bytes, and the
 * request bodies each system expects for them, built before any clock starts.
 */

/** mulberry32: a small, fast, seedable PRNG (reproducible data, run to run). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Resource {
  /** `<source>/<sourceId>`: the pouchdb `_id`, the raw LevelDB key */
  readonly id: string;
  readonly sourceId: string;
  /** the resource's JSON text, starting with `{"resourceType":` */
  readonly text: string;
}

export const CONTEXT_ELEMENT = {
  id: '@context',
  namespaces: { icar: 'http://data.adewg.icar.org/core/', farm: 'https://farm.example.org/id/' },
};

const QUARTERS = ['LF', 'RF'] as const;
const BREEDS = ['HOL', 'JER', 'RDC', 'NRF'] as const;

const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

/** `count` resources; `tag` makes the sourceIds of one data set distinct from another's. */
export function generateResources(count: number, seed = 42, tag = 'r'): Resource[] {
  const rand = prng(seed);
  const out: Resource[] = [];
  const t0 = Date.UTC(2024, 4, 2, 6, 0, 0);
  for (let i = 0; i < count; i++) {
    const animal = `5280000${String(10_000_000 + Math.floor(rand() * 900_000)).padStart(8, '0')}`;
    const farm = `farm-${String(Math.floor(rand() * 400)).padStart(4, '0')}`;
    const at = t0 + i * 1_000;
    const pick = rand();
    let doc: Record<string, unknown>;
    let source: string;
    const sourceId = `${tag}-${i.toString(36)}-${Math.floor(rand() * 1e9).toString(36)}`;
    if (pick < 0.7) {
      source = 'com.example.robot';
      const weight = Math.round((8 + rand() * 10) * 10) / 10;
      doc = {
        resourceType: 'icarMilkingVisitEventResource',
        id: sourceId,
        animal: { id: animal, scheme: 'eu.animalId' },
        eventDateTime: iso(at),
        milkingDuration: { unitCode: 'SEC', value: 300 + Math.floor(rand() * 300) },
        milkingType: 'Automated',
        milkingMilkWeight: { unitCode: 'KGM', value: weight },
        milkingComplete: rand() > 0.02,
        milkingBoxNumber: String(1 + Math.floor(rand() * 4)),
        milkingDeviceId: `robot-${1 + Math.floor(rand() * 4)}`,
        // robots without quarter meters report the udder as a whole
        ...(rand() < 0.7
          ? {
              quarterMilkings: QUARTERS.slice(0, 2).map((q) => ({
                icarQuarterId: q,
                quarterMilkingWeight: { unitCode: 'KGM', value: Math.round(weight * 2.5) / 10 },
              })),
            }
          : {}),
        location: { id: farm, scheme: 'io.mimiro.data.locations' },
        meta: { source, sourceId, modified: iso(at + 360_000) },
      };
    } else if (pick < 0.85) {
      source = 'com.example.scale';
      doc = {
        resourceType: 'icarWeightEventResource',
        id: sourceId,
        animal: { id: animal, scheme: 'eu.animalId' },
        eventDateTime: iso(at),
        weight: {
          measurement: Math.round((450 + rand() * 300) * 10) / 10,
          units: 'KGM',
          method: 'WalkOver',
          resolution: 0.5,
        },
        device: { id: `scale-${1 + Math.floor(rand() * 3)}`, serial: `SN${Math.floor(rand() * 1e8)}` },
        location: { id: farm, scheme: 'io.mimiro.data.locations' },
        remark: 'walk-over weighing after the morning milking',
        meta: { source, sourceId, created: iso(at), modified: iso(at + 60_000) },
      };
    } else {
      source = 'com.example.herdapp';
      doc = {
        resourceType: 'icarAnimalCoreResource',
        identifier: { id: animal, scheme: 'eu.animalId' },
        alternativeIdentifiers: [{ id: `tag-${Math.floor(rand() * 1e5)}`, scheme: 'farm.managementTag' }],
        specie: 'Cattle',
        gender: rand() > 0.1 ? 'Female' : 'Male',
        birthDate: iso(at - 3 * 365 * 86_400_000),
        primaryBreed: { id: BREEDS[Math.floor(rand() * BREEDS.length)]!, scheme: 'icar.breed-3' },
        managementTag: String(Math.floor(rand() * 10_000)),
        name: `Cow ${i}`,
        status: 'Alive',
        lactationStatus: 'Lactating',
        location: { id: farm, scheme: 'io.mimiro.data.locations' },
        meta: { source, sourceId, created: iso(at - 86_400_000), modified: iso(at) },
      };
    }
    out.push({ id: `${source}/${sourceId}`, sourceId, text: JSON.stringify(doc) });
  }
  return out;
}

export function batches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const CONTEXT_TEXT = JSON.stringify(CONTEXT_ELEMENT);

/** The hub's ICAR push body: the context element, then the resources as they are. */
export function icarBody(batch: readonly Resource[]): Buffer {
  return Buffer.from(`[${CONTEXT_TEXT},${batch.map((r) => r.text).join(',')}]`);
}

/** pouchdb's `_bulk_docs` body: the same resources, each with `_id` = source/sourceId spliced in. */
export function bulkDocsBody(batch: readonly Resource[]): Buffer {
  return Buffer.from(
    `{"docs":[${batch.map((r) => `{"_id":${JSON.stringify(r.id)},${r.text.slice(1)}`).join(',')}]}`,
  );
}

/**
 * A new version of every resource of a body (for filling a long changelog from the same data):
 * meta.modified moves `round` days later, so each resource is a change, not a duplicate.
 */
export function revised(body: Buffer, round: number): Buffer {
  const day = String(10 + round).padStart(2, '0');
  return Buffer.from(
    body.toString('utf8').replace(/"modified":"2024-05-\d\d/g, `"modified":"2024-05-${day}`),
  );
}

/** Obsrv events and ODS records: flat-ish device readings of ~250 bytes. */
export function generateEvents(count: number, seed = 7, tag = 'e'): Array<Record<string, unknown>> {
  const rand = prng(seed);
  const out: Array<Record<string, unknown>> = [];
  for (let i = 0; i < count; i++) {
    out.push({
      eid: 'MILKING',
      mid: `${tag}-${i}`,
      ets: 1_714_629_600_000 + i * 1000,
      device: `box-${Math.floor(rand() * 8)}`,
      robot: `robot-${1 + Math.floor(rand() * 4)}`,
      animal: `5280000${String(10_000_000 + Math.floor(rand() * 900_000))}`,
      farm: `farm-${String(Math.floor(rand() * 400)).padStart(4, '0')}`,
      value: Math.round((8 + rand() * 10) * 10) / 10,
      unit: 'KGM',
      conductivity: Math.round((4 + rand() * 2) * 100) / 100,
      complete: rand() > 0.02,
    });
  }
  return out;
}
