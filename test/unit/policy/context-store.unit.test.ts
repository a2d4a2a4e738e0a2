// The in-memory ContextStore (development without infrastructure) keeps the same contract as the
// PostgreSQL + Redis one (test/int/policy/context-store.int.test.ts runs the same suite there).
import { createInMemoryContextStore } from '../../../src/policy/store/factory.ts';
import { contextStoreContract } from '../../support/context-store-contract.ts';

contextStoreContract('in memory', () => createInMemoryContextStore());
