-- Every constitution (policy rule set) the policy service has loaded, by digest, so that replay can
-- re-evaluate a decision with exactly the rules it names (decision.policyDigest). Written at policy
-- start-up (src/audit/constitutions.ts recordConstitution); read by `sentinel replay`.
CREATE TABLE IF NOT EXISTS policy_constitutions (
  -- "sha256:<hex>" of document_json: the digest decisions carry.
  digest text PRIMARY KEY,
  version text NOT NULL,
  -- RFC 8785 JSON of the validated rule-set document.
  document_json text NOT NULL,
  source text NOT NULL,
  first_loaded_at timestamptz NOT NULL DEFAULT now(),
  last_loaded_at timestamptz NOT NULL DEFAULT now()
);
