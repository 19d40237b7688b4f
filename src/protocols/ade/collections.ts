/**
 * The collections of the ICAR ADE url-schemes (adewg/ICAR `url-schemes/*.json`): every
 * `/locations/{location-scheme}/{location-id}/<collection>` path of the standard, with the
 * `resourceType` of its members (the resource its collection schema lists in `member`) and the
 * url-scheme files that define it. The one table of the ADE routes: a collection not here is a 404.
 * test/ade-collections.test.ts checks it against the list derived from the standard's files.
 */
export interface AdeCollection {
  readonly resourceType: string;
  /** the url-scheme files of the standard that define the collection */
  readonly schemes: readonly string[];
}

export const ADE_COLLECTIONS: Readonly<Record<string, AdeCollection>> = {
  abortions: {
    resourceType: 'icarReproAbortionEventResource',
    schemes: ['exampleUrlScheme', 'reproductionURLScheme'],
  },
  'animal-set-joins': {
    resourceType: 'icarAnimalSetJoinEventResource',
    schemes: ['exampleUrlScheme', 'managementURLScheme'],
  },
  'animal-set-leaves': {
    resourceType: 'icarAnimalSetLeaveEventResource',
    schemes: ['exampleUrlScheme', 'managementURLScheme'],
  },
  'animal-sets': {
    resourceType: 'icarAnimalSetResource',
    schemes: ['exampleUrlScheme', 'managementURLScheme'],
  },
  animals: { resourceType: 'icarAnimalCoreResource', schemes: ['exampleUrlScheme', 'registrationURLScheme'] },
  arrivals: {
    resourceType: 'icarMovementArrivalEventResource',
    schemes: ['exampleUrlScheme', 'registrationURLScheme'],
  },
  births: {
    resourceType: 'icarMovementBirthEventResource',
    schemes: ['exampleUrlScheme', 'registrationURLScheme'],
  },
  'breeding-values': {
    resourceType: 'icarBreedingValueResource',
    schemes: ['exampleUrlScheme', 'performanceURLScheme'],
  },
  'conformation-scores': {
    resourceType: 'icarConformationScoreEventResource',
    schemes: ['exampleUrlScheme', 'performanceURLScheme'],
  },
  'daily-milking-averages': {
    resourceType: 'icarDailyMilkingAveragesResource',
    schemes: ['exampleUrlScheme', 'milkURLScheme'],
  },
  deaths: {
    resourceType: 'icarMovementDeathEventResource',
    schemes: ['exampleUrlScheme', 'registrationURLScheme'],
  },
  departures: {
    resourceType: 'icarMovementDepartureEventResource',
    schemes: ['exampleUrlScheme', 'registrationURLScheme'],
  },
  devices: { resourceType: 'icarDeviceResource', schemes: ['exampleUrlScheme', 'managementURLScheme'] },
  diagnoses: { resourceType: 'icarDiagnosisEventResource', schemes: ['exampleUrlScheme', 'healthURLScheme'] },
  'do-not-breeds': {
    resourceType: 'icarReproDoNotBreedEventResource',
    schemes: ['exampleUrlScheme', 'reproductionURLScheme'],
  },
  'drying-offs': {
    resourceType: 'icarMilkingDryOffEventResource',
    schemes: ['exampleUrlScheme', 'reproductionURLScheme'],
  },
  'feed-intakes': {
    resourceType: 'icarFeedIntakeEventResource',
    schemes: ['exampleUrlScheme', 'feedURLscheme'],
  },
  'feed-recommendations': {
    resourceType: 'icarFeedRecommendationResource',
    schemes: ['exampleUrlScheme', 'feedURLscheme'],
  },
  'feed-reports': { resourceType: 'icarFeedReportResource', schemes: ['exampleUrlScheme', 'feedURLscheme'] },
  'feed-storages': {
    resourceType: 'icarFeedStorageResource',
    schemes: ['exampleUrlScheme', 'feedURLscheme'],
  },
  feeds: { resourceType: 'icarFeedResource', schemes: ['exampleUrlScheme', 'feedURLscheme'] },
  gestations: {
    resourceType: 'icarGestationResource',
    schemes: ['exampleUrlScheme', 'reproductionURLScheme'],
  },
  'group-arrivals': {
    resourceType: 'icarGroupMovementArrivalEventResource',
    schemes: ['exampleUrlScheme', 'registrationURLScheme'],
  },
  'group-births': {
    resourceType: 'icarGroupMovementBirthEventResource',
    schemes: ['exampleUrlScheme', 'registrationURLScheme'],
  },
  'group-deaths': {
    resourceType: 'icarGroupMovementDeathEventResource',
    schemes: ['exampleUrlScheme', 'registrationURLScheme'],
  },
  'group-departures': {
    resourceType: 'icarGroupMovementDepartureEventResource',
    schemes: ['exampleUrlScheme', 'registrationURLScheme'],
  },
  'group-treatments': {
    resourceType: 'icarGroupTreatmentEventResource',
    schemes: ['exampleUrlScheme', 'healthURLScheme'],
  },
  'group-weights': {
    resourceType: 'icarGroupWeightEventResource',
    schemes: ['exampleUrlScheme', 'performanceURLScheme'],
  },
  'health-status': {
    resourceType: 'icarHealthStatusObservedEventResource',
    schemes: ['exampleUrlScheme', 'healthURLScheme'],
  },
  heats: {
    resourceType: 'icarReproHeatEventResource',
    schemes: ['exampleUrlScheme', 'reproductionURLScheme'],
  },
  inseminations: {
    resourceType: 'icarReproInseminationEventResource',
    schemes: ['exampleUrlScheme', 'reproductionURLScheme'],
  },
  'lactation-status-observations': {
    resourceType: 'icarLactationStatusObservedEventResource',
    schemes: ['exampleUrlScheme', 'milkURLScheme'],
  },
  lactations: { resourceType: 'icarLactationResource', schemes: ['exampleUrlScheme', 'milkURLScheme'] },
  'mating-recommendations': {
    resourceType: 'icarReproMatingRecommendationResource',
    schemes: ['exampleUrlScheme', 'reproductionURLScheme'],
  },
  'milking-visits': {
    resourceType: 'icarMilkingVisitEventResource',
    schemes: ['exampleUrlScheme', 'milkURLScheme'],
  },
  'milking-withdrawals': {
    resourceType: 'icarWithdrawalEventResource',
    schemes: ['exampleUrlScheme', 'milkURLScheme'],
  },
  parturitions: {
    resourceType: 'icarReproParturitionEventResource',
    schemes: ['exampleUrlScheme', 'reproductionURLScheme'],
  },
  'pregnancy-checks': {
    resourceType: 'icarReproPregnancyCheckEventResource',
    schemes: ['exampleUrlScheme', 'reproductionURLScheme'],
  },
  rations: { resourceType: 'icarRationResource', schemes: ['exampleUrlScheme', 'feedURLscheme'] },
  'repro-status-observations': {
    resourceType: 'icarReproStatusObservedEventResource',
    schemes: ['exampleUrlScheme', 'reproductionURLScheme'],
  },
  schemata: { resourceType: 'icarSchemeTypeResource', schemes: ['exampleUrlScheme'] },
  statistics: {
    resourceType: 'icarStatisticsResource',
    schemes: ['exampleUrlScheme', 'managementURLScheme'],
  },
  'test-day-results': {
    resourceType: 'icarTestDayResultEventResource',
    schemes: ['exampleUrlScheme', 'milkURLScheme'],
  },
  'test-days': { resourceType: 'icarTestDayResource', schemes: ['exampleUrlScheme', 'milkURLScheme'] },
  'treatment-programs': {
    resourceType: 'icarTreatmentProgramEventResource',
    schemes: ['exampleUrlScheme', 'healthURLScheme'],
  },
  treatments: {
    resourceType: 'icarTreatmentEventResource',
    schemes: ['exampleUrlScheme', 'healthURLScheme'],
  },
  'type-classifications': {
    resourceType: 'icarTypeClassificationEventResource',
    schemes: ['exampleUrlScheme', 'performanceURLScheme'],
  },
  weights: { resourceType: 'icarWeightEventResource', schemes: ['exampleUrlScheme', 'performanceURLScheme'] },
};

/** The collection's entry, or undefined (own properties only: `constructor` is no collection). */
export function adeCollection(name: string): AdeCollection | undefined {
  return Object.hasOwn(ADE_COLLECTIONS, name) ? ADE_COLLECTIONS[name] : undefined;
}
