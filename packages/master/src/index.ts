/**
 * @promfleet/master: the only component that talks to the Kubernetes API server. So far: discovery as pure
 * functions (Kubernetes roles, static and file-based target groups), used by the master and the offline tools.
 */
export { discoverFromObjects, readObjectList, ObjectListError, type ObjectSet, type SkippedItem } from './discovery/kubernetes/offline.js';
export { BadObjectError, SelectorError } from './discovery/kubernetes/index.js';
export { FileSDError, matchGlob, parseFileSD, staticGroups } from './discovery/static.js';
