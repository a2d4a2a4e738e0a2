// The audit hash chain (docs/audit.md). Each link's hash is the SHA-256 of the RFC 8785 canonical
// JSON of {v, chainId, sequence, kind, subjectId, previousHash, recordJson}, so changing any recorded
// field, reordering, inserting or removing a link changes every later hash; signed checkpoints pin
// the chain's head so that rewriting the whole tail is detected too. Pure: time and the signer are
// parameters.
import { sha256Tagged } from '../canonical/digest.ts';
import { canonicalize } from '../canonical/jcs.ts';
import type { EpochMillis } from '../domain/types.ts';
import type { Signer, SignerSource } from '../approval/signers/signer.ts';
import { signCheckpoint, verifyCheckpoint } from './checkpoint.ts';
import type { KeyTimeline } from './key-timeline.ts';
import { AUDIT_KINDS, type AuditDraft, type AuditEntry, type AuditKind } from './types.ts';

export const AUDIT_LINK_VERSION = 1;
/** previousHash of the first link. */
export const GENESIS_HASH = `sha256:${'0'.repeat(64)}`;
export const CHECKPOINT_ISSUER = 'sentinel-audit';

export interface LinkFields {
  chainId: string;
  sequence: number;
  kind: AuditKind;
  subjectId: string;
  previousHash: string;
  recordJson: string;
}

/** The hash of one link. */
export function linkHash(link: LinkFields): string {
  return sha256Tagged(canonicalize({
    v: AUDIT_LINK_VERSION,
    chainId: link.chainId,
    sequence: link.sequence,
    kind: link.kind,
    subjectId: link.subjectId,
    previousHash: link.previousHash,
    recordJson: link.recordJson,
  }));
}

export interface ChainHead {
  chainId: string;
  /** Sequence of the last link; 0 for an empty chain. */
  sequence: number;
  /** Hash of the last link; GENESIS_HASH for an empty chain. */
  hash: string;
  /** The last link covered by a checkpoint (0: none yet). */
  checkpointSequence: number;
  /** When that checkpoint was taken (or the chain started). */
  checkpointAt: EpochMillis;
}

export function emptyHead(chainId: string, now: EpochMillis): ChainHead {
  return { chainId, sequence: 0, hash: GENESIS_HASH, checkpointSequence: 0, checkpointAt: now };
}

export interface CheckpointPolicy {
  /** Take a checkpoint after this many links since the last one. */
  every: number;
  /** ... or once this long has passed since the last one and there is anything new. */
  intervalMs: number;
}

export const DEFAULT_CHECKPOINT_POLICY: CheckpointPolicy = { every: 1000, intervalMs: 60_000 };

export function checkpointDue(head: ChainHead, policy: CheckpointPolicy, now: EpochMillis): boolean {
  const pending = head.sequence - head.checkpointSequence;
  return pending >= policy.every || (pending > 0 && now - head.checkpointAt >= policy.intervalMs);
}

export interface AppendedLink {
  entry: AuditEntry;
  /** The draft's event id (null for a checkpoint). */
  eventId: string | null;
  /** The draft's flow (intent id); the chain id for a checkpoint. */
  correlationId: string;
  /** For a checkpoint: the event after which it was taken (null when a timer took it). */
  causedBy: string | null;
}

function link(head: ChainHead, fields: Omit<LinkFields, 'chainId' | 'sequence' | 'previousHash'>): AuditEntry {
  const base = { chainId: head.chainId, sequence: head.sequence + 1, previousHash: head.hash, ...fields };
  return { ...base, hash: linkHash(base), checkpoint: null };
}

/** Appends a signed checkpoint covering the head (a SignerSource is asked for its signer only now). */
export async function appendCheckpoint(head: ChainHead, signer: Signer | SignerSource, now: EpochMillis, causedBy: string | null): Promise<{ head: ChainHead; link: AppendedLink }> {
  const current = 'current' in signer ? await signer.current() : signer;
  const { recordJson, envelope } = await signCheckpoint({ chainId: head.chainId, sequence: head.sequence, hash: head.hash, issuedAt: now, issuer: CHECKPOINT_ISSUER }, current);
  const entry = { ...link(head, { kind: 'checkpoint', subjectId: `checkpoint:${head.sequence}`, recordJson }), checkpoint: envelope };
  return {
    head: { ...head, sequence: entry.sequence, hash: entry.hash, checkpointSequence: entry.sequence, checkpointAt: now },
    link: { entry, eventId: null, correlationId: head.chainId, causedBy },
  };
}

/**
 * Appends the drafts in order, taking a checkpoint whenever the policy says one is due (after the
 * draft that made it due). Returns the new links and the new head.
 */
export async function extendChain(
  head: ChainHead, drafts: readonly AuditDraft[], options: { policy: CheckpointPolicy; now: EpochMillis; signer: Signer | SignerSource },
): Promise<{ head: ChainHead; links: AppendedLink[] }> {
  let current = head;
  const links: AppendedLink[] = [];
  for (const draft of drafts) {
    const entry = link(current, { kind: draft.kind, subjectId: draft.subjectId, recordJson: canonicalize(draft.record) });
    links.push({ entry, eventId: draft.eventId, correlationId: draft.correlationId, causedBy: null });
    current = { ...current, sequence: entry.sequence, hash: entry.hash };
    if (checkpointDue(current, options.policy, options.now)) {
      const taken = await appendCheckpoint(current, options.signer, options.now, draft.eventId);
      current = taken.head;
      links.push(taken.link);
    }
  }
  return { head: current, links };
}

// ---------------------------------------------------------------------------------------------
// Verification

export type ChainProblemKind =
  | 'sequence_gap' | 'previous_hash_mismatch' | 'hash_mismatch' | 'record_not_canonical' | 'unknown_kind'
  | 'checkpoint_invalid' | 'checkpoint_mismatch' | 'head_mismatch';

export interface ChainProblem {
  sequence: number;
  problem: ChainProblemKind;
  detail: string;
}

export interface ChainReport {
  chainId: string;
  ok: boolean;
  links: number;
  checkpoints: number;
  /** The last link covered by a valid checkpoint (0: none). */
  lastCheckpointSequence: number;
  /** Links after the last valid checkpoint: intact as far as hashes go, but not yet signed. */
  unsignedTail: number;
  lastSequence: number;
  /** The first broken link in reading (sequence) order, if any. */
  firstBreak: ChainProblem | null;
  problems: ChainProblem[];
  /** Problems beyond those listed. */
  moreProblems: number;
}

const MAX_LISTED_PROBLEMS = 100;

function isCanonicalJson(text: string): boolean {
  try {
    return canonicalize(JSON.parse(text)) === text;
  } catch {
    return false;
  }
}

/**
 * Verifies a chain link by link, in sequence order (streaming: push each link, then finish). Checks
 * the sequence is 1, 2, 3 ...; each link's previousHash is its predecessor's hash; each hash is
 * recomputed from the stored fields; records are canonical JSON; every checkpoint is a valid
 * signature (key registry as of its time) over the head it follows.
 */
export class ChainVerifier {
  private readonly chainId: string;
  private readonly keys: KeyTimeline;
  private expected = 1;
  private previousHash = GENESIS_HASH;
  private links = 0;
  private checkpoints = 0;
  private lastCheckpoint = 0;
  private lastSequence = 0;
  private readonly problems: ChainProblem[] = [];
  private more = 0;

  constructor(chainId: string, keys: KeyTimeline) {
    this.chainId = chainId;
    this.keys = keys;
  }

  private report(sequence: number, problem: ChainProblemKind, detail: string): void {
    if (this.problems.length < MAX_LISTED_PROBLEMS) this.problems.push({ sequence, problem, detail });
    else this.more++;
  }

  push(entry: AuditEntry): void {
    this.links++;
    if (entry.sequence !== this.expected) {
      this.report(entry.sequence, 'sequence_gap', `expected link ${this.expected}, found ${entry.sequence}`);
    }
    if (entry.previousHash !== this.previousHash) {
      this.report(entry.sequence, 'previous_hash_mismatch', `previousHash ${entry.previousHash} is not the hash of the link before (${this.previousHash})`);
    }
    if (!(AUDIT_KINDS as readonly string[]).includes(entry.kind)) this.report(entry.sequence, 'unknown_kind', `kind "${entry.kind}"`);
    const recomputed = linkHash({ ...entry, chainId: this.chainId });
    if (recomputed !== entry.hash) {
      this.report(entry.sequence, 'hash_mismatch', `stored hash ${entry.hash}, recomputed ${recomputed}: the link was changed`);
    }
    if (!isCanonicalJson(entry.recordJson)) this.report(entry.sequence, 'record_not_canonical', 'recordJson is not RFC 8785 canonical JSON');
    if (entry.kind === 'checkpoint') this.checkCheckpoint(entry);
    this.expected = entry.sequence + 1;
    this.previousHash = entry.hash;
    this.lastSequence = entry.sequence;
  }

  private checkCheckpoint(entry: AuditEntry): void {
    this.checkpoints++;
    if (entry.checkpoint === null) {
      this.report(entry.sequence, 'checkpoint_invalid', 'a checkpoint link without its signed envelope');
      return;
    }
    const verdict = verifyCheckpoint(entry.checkpoint, this.keys);
    if (!verdict.ok) {
      this.report(entry.sequence, 'checkpoint_invalid', verdict.reason);
      return;
    }
    const p = verdict.payload;
    if (entry.checkpoint.payload.toString('utf8') !== entry.recordJson) {
      this.report(entry.sequence, 'checkpoint_mismatch', 'the signed payload is not the link\'s record');
    } else if (p.chainId !== this.chainId || p.sequence !== entry.sequence - 1 || p.hash !== entry.previousHash || p.hash !== this.previousHash) {
      this.report(entry.sequence, 'checkpoint_mismatch', `signed head (${p.chainId} #${p.sequence} ${p.hash}) is not the chain's (#${entry.sequence - 1} ${this.previousHash})`);
    } else {
      this.lastCheckpoint = entry.sequence;
    }
  }

  /** Compares the end of the chain with the head the store recorded (a deleted tail shows here). */
  finish(head?: { sequence: number; hash: string } | null): ChainReport {
    if (head && (head.sequence !== this.lastSequence || head.hash !== this.previousHash)) {
      this.report(this.lastSequence + 1, 'head_mismatch', `the recorded head is #${head.sequence} ${head.hash}, the chain ends at #${this.lastSequence} ${this.previousHash}`);
    }
    return {
      chainId: this.chainId,
      ok: this.problems.length === 0,
      links: this.links,
      checkpoints: this.checkpoints,
      lastCheckpointSequence: this.lastCheckpoint,
      unsignedTail: this.lastSequence - this.lastCheckpoint,
      lastSequence: this.lastSequence,
      firstBreak: this.problems[0] ?? null,
      problems: [...this.problems],
      moreProblems: this.more,
    };
  }
}
