export { KEY_ID_PATTERN, deriveKeyId } from './key-id.ts';
export {
  DELEGATION_PAYLOAD_TYPE, DELEGATION_PURPOSE, MAX_DELEGATION_MS,
  type DelegationCertificate, decodeDelegationCertificate, encodeDelegationCertificate, verifyDelegationCertificate,
} from './certificate.ts';
export {
  KEY_ORIGINS, type KeyOrigin, type KeyRegistry, type RegisteredKey,
  type KeyBatchResult, createKeyRegistry, emptyKeyRegistry, findKey, isRevoked, listKeyRecords, registerKey, registerKeys, registryAsOf, retireKey, revokeKey,
} from './registry.ts';
export {
  DEFAULT_ROTATION_POLICY, type RotationPolicy, type RotationReason,
  newKeyRecord, rotateKey, rotationDue, rotationPolicyFromDays,
} from './rotation.ts';
export {
  type Jwks, type JwkEntry,
  keyRecordFromJwk, keyRecordToJwk, parseKeyRecord, registryFromJwks, serializeKeyRecord, toJwks,
} from './jwks.ts';
