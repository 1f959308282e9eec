"""Every SQL statement of the journal, written out whole (no SQL is built from strings at run time).

One text serves SQLite and PostgreSQL (``?`` placeholders; the PostgreSQL store turns them into ``%s``),
except where the two databases differ: claiming due entries (``CLAIM_DUE_*``) and the migration lock.
A claim may take an entry that is pending and not held by a live lease:
``state = 'pending' AND (claimed_until IS NULL OR claimed_until < :now)``. Taking one whose lease ran out
(its attempt never reported back: a worker killed mid-call) counts a possible duplicate, because that
attempt may have reached Marketing Cloud and this one sends it again.
"""

from __future__ import annotations

# -- schema -------------------------------------------------------------------------------------------

CREATE_SCHEMA_VERSION = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
SCHEMA_VERSION = "SELECT MAX(version) AS version FROM schema_version"
ADD_SCHEMA_VERSION = "INSERT INTO schema_version (version) VALUES (?)"
#: One migrating process at a time on PostgreSQL (SQLite: the write transaction already serialises).
LOCK_MIGRATIONS_POSTGRESQL = "SELECT pg_advisory_xact_lock(?)"

#: Schema version 3 on the entries a v2 journal holds (all unsubscribes): the rules of ``keys.py`` in SQL
#: (``||`` with NULL is NULL on both databases: an entry naming nobody gets no person key).
BACKFILL_KEYS = (
    "UPDATE journal_entries SET person_key = CASE WHEN subscriber_key <> '' THEN 'k:' || subscriber_key "
    "WHEN subscriber_id <> '' THEN 'i:' || subscriber_id WHEN email <> '' THEN 'e:' || email END "
    "|| '|' || COALESCE(mid, ''), "
    "target_key = CASE WHEN scope = 'all' THEN 'all' WHEN list_id <> '' THEN 'list:' || list_id "
    "ELSE 'job:' || COALESCE(job_id, '') END, "
    "dedupe_base = dedupe_key"
)

HEARTBEAT = (
    "INSERT INTO journal_heartbeat (id, beat_at, beat_by) VALUES (1, ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET beat_at = excluded.beat_at, beat_by = excluded.beat_by"
)

# -- recording ----------------------------------------------------------------------------------------

#: The request's columns first, in the order of ``values.REQUEST_COLUMNS`` (a test holds them in step),
#: then the keys (``keys.py``), the times and the claim (NULL, NULL, 0 when recorded without one).
INSERT_PENDING = (
    "INSERT INTO journal_entries (subscriber_key, subscriber_id, email, job_id, list_id, batch_id, mid, "
    "scope, reason_code, reason_text, language, source, action, target_list_id, reason_label, "
    "dedupe_key, dedupe_base, person_key, target_key, created_at, updated_at, "
    "next_attempt_at, claimed_by, claimed_until, attempts) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (dedupe_key) WHERE state = 'pending' DO NOTHING RETURNING *"
)
#: The latest entry of a person's target that differs from the request (parameters: person key, target
#: key, the request's dedupe base): its id goes into the request's idempotency key (``keys.py``).
LATEST_OTHER_OF_TARGET = (
    "SELECT MAX(id) AS id FROM journal_entries WHERE person_key = ? AND target_key = ? AND dedupe_base <> ?"
)
PENDING_TWIN = "SELECT * FROM journal_entries WHERE dedupe_key = ? AND state = 'pending'"
#: Parameters: token, lease end, now, id, now.
CLAIM_ENTRY = (
    "UPDATE journal_entries SET claimed_by = ?, claimed_until = ?, attempts = attempts + 1, "
    "duplicates = duplicates + CASE WHEN claimed_until IS NULL THEN 0 ELSE 1 END, updated_at = ? "
    "WHERE id = ? AND state = 'pending' AND (claimed_until IS NULL OR claimed_until < ?) RETURNING *"
)

#: A person's pending entries, oldest first (parameters: person key, limit), for an inline claim; on
#: PostgreSQL locked, so a worker's claim under way is waited for and seen.
PERSON_PENDING_SQLITE = (
    "SELECT * FROM journal_entries WHERE person_key = ? AND state = 'pending' ORDER BY id LIMIT ?"
)
PERSON_PENDING_POSTGRESQL = (
    "SELECT * FROM journal_entries WHERE person_key = ? AND state = 'pending' ORDER BY id LIMIT ? FOR UPDATE"
)
#: One inline recording per person at a time on PostgreSQL (SQLite: the write transaction already is):
#: two POSTs of one person cannot both claim their own new entries, each unseen by the other.
LOCK_PERSON_POSTGRESQL = "SELECT pg_advisory_xact_lock(5303, hashtext(?))"

# -- claims and outcomes ------------------------------------------------------------------------------

#: Parameters: now, token (a claim's token is unique: its entries are exactly those it holds).
RELEASE = (
    "UPDATE journal_entries SET claimed_by = NULL, claimed_until = NULL, attempts = attempts - 1, "
    "updated_at = ? WHERE claimed_by = ? AND state = 'pending'"
)
#: Parameters: now, now. Only heads of line count: an entry waiting behind an older pending entry of the
#: same person (``NOT EXISTS … older``) is not due, whatever its own time says.
DUE_MIDS = (
    "SELECT e.mid, MIN(e.next_attempt_at) AS first_due FROM journal_entries AS e "
    "WHERE e.state = 'pending' AND (e.claimed_until IS NULL OR e.claimed_until < ?) "
    "AND e.next_attempt_at <= ? AND (e.person_key IS NULL OR NOT EXISTS (SELECT 1 FROM journal_entries "
    "AS older WHERE older.person_key = e.person_key AND older.state = 'pending' AND older.id < e.id)) "
    "GROUP BY e.mid ORDER BY first_due"
)
#: Parameters: token, lease end, now, now, now, mid, limit. SQLite serialises writers, so a plain
#: sub-select is enough; ``IS`` matches a NULL MID. Heads of line only (as ``DUE_MIDS``): at most one
#: entry per person, and never one whose older entry is pending (in backoff, or held by another claim).
CLAIM_DUE_SQLITE = (
    "UPDATE journal_entries SET claimed_by = ?, claimed_until = ?, attempts = attempts + 1, "
    "duplicates = duplicates + CASE WHEN claimed_until IS NULL THEN 0 ELSE 1 END, updated_at = ? "
    "WHERE id IN (SELECT e.id FROM journal_entries AS e WHERE e.state = 'pending' "
    "AND (e.claimed_until IS NULL OR e.claimed_until < ?) AND e.next_attempt_at <= ? AND e.mid IS ? "
    "AND (e.person_key IS NULL OR NOT EXISTS (SELECT 1 FROM journal_entries AS older "
    "WHERE older.person_key = e.person_key AND older.state = 'pending' AND older.id < e.id)) "
    "ORDER BY e.next_attempt_at, e.id LIMIT ?) RETURNING *"
)
#: The same on PostgreSQL: rows other workers are claiming right now are skipped, never handed out twice;
#: an older entry being claimed elsewhere is still pending, so the entries behind it stay put.
CLAIM_DUE_POSTGRESQL = (
    "UPDATE journal_entries SET claimed_by = ?, claimed_until = ?, attempts = attempts + 1, "
    "duplicates = duplicates + CASE WHEN claimed_until IS NULL THEN 0 ELSE 1 END, updated_at = ? "
    "WHERE id IN (SELECT e.id FROM journal_entries AS e WHERE e.state = 'pending' "
    "AND (e.claimed_until IS NULL OR e.claimed_until < ?) AND e.next_attempt_at <= ? "
    "AND e.mid IS NOT DISTINCT FROM ? "
    "AND (e.person_key IS NULL OR NOT EXISTS (SELECT 1 FROM journal_entries AS older "
    "WHERE older.person_key = e.person_key AND older.state = 'pending' AND older.id < e.id)) "
    "ORDER BY e.next_attempt_at, e.id LIMIT ? FOR UPDATE OF e SKIP LOCKED) "
    "RETURNING *"
)
#: Gives back one entry of a claim that was not sent (an older entry of its person did not finish in the
#: same attempt): uncounted, due as before. Parameters: now, id, token.
RELEASE_ENTRY = (
    "UPDATE journal_entries SET claimed_by = NULL, claimed_until = NULL, attempts = attempts - 1, "
    "updated_at = ? WHERE id = ? AND claimed_by = ? AND state = 'pending'"
)
#: Only under the attempt's own claim: a late answer of an expired claim changes nothing.
APPLY_RESULT = (
    "UPDATE journal_entries SET state = ?, next_attempt_at = ?, last_error = ?, error_code = ?, "
    "sfmc_request_id = COALESCE(?, sfmc_request_id), "
    "sfmc_status_message = COALESCE(?, sfmc_status_message), duplicates = duplicates + ?, "
    "claimed_by = NULL, claimed_until = NULL, updated_at = ?, finished_at = ? "
    "WHERE id = ? AND claimed_by = ? AND state = 'pending'"
)
#: Parameters: now, now, now, max attempts.
BURY_ABANDONED = (
    "UPDATE journal_entries SET state = 'dead', claimed_by = NULL, claimed_until = NULL, "
    "duplicates = duplicates + 1, next_attempt_at = NULL, updated_at = ?, finished_at = ?, last_error = "
    "'gave up: the last allowed attempt never reported back (worker stopped or killed)' "
    "WHERE state = 'pending' AND claimed_until IS NOT NULL AND claimed_until < ? AND attempts >= ?"
)

# -- reading ------------------------------------------------------------------------------------------

GET_ENTRY = "SELECT * FROM journal_entries WHERE id = ?"
ENTRIES = "SELECT * FROM journal_entries WHERE id > ? ORDER BY id LIMIT ?"
ENTRIES_IN_STATE = "SELECT * FROM journal_entries WHERE id > ? AND state = ? ORDER BY id LIMIT ?"
COUNTS_BY_STATE = "SELECT state, COUNT(*) AS n FROM journal_entries GROUP BY state"
COUNTS_BY_ACTION = "SELECT action, state, COUNT(*) AS n FROM journal_entries GROUP BY action, state"
OLDEST_PENDING = "SELECT MIN(created_at) AS oldest FROM journal_entries WHERE state = 'pending'"
POSSIBLE_DUPLICATES = "SELECT COALESCE(SUM(duplicates), 0) AS n FROM journal_entries"

# -- upkeep -------------------------------------------------------------------------------------------

DEAD_IDS = "SELECT id FROM journal_entries WHERE state = 'dead' ORDER BY id"
#: Parameters: now, now, id. Skipped when purged, when a pending twin will deliver the same request, or
#: when the person changed the same subscription again later (sending the old change would undo theirs).
RETRY_DEAD = (
    "UPDATE journal_entries SET state = 'pending', attempts = 0, next_attempt_at = ?, "
    "claimed_by = NULL, claimed_until = NULL, finished_at = NULL, updated_at = ? "
    "WHERE id = ? AND state = 'dead' AND purged_at IS NULL AND NOT EXISTS ("
    "SELECT 1 FROM journal_entries AS twin WHERE twin.state = 'pending' "
    "AND twin.dedupe_key = journal_entries.dedupe_key) AND NOT EXISTS ("
    "SELECT 1 FROM journal_entries AS newer WHERE newer.person_key = journal_entries.person_key "
    "AND newer.target_key = journal_entries.target_key AND newer.id > journal_entries.id)"
)
#: Empties the personal columns of entries finished before a time; dead ones only when asked.
#: Parameters: now, now, include dead (1/0), finished before.
PURGE = (
    "UPDATE journal_entries SET subscriber_key = NULL, subscriber_id = NULL, email = NULL, "
    "reason_text = NULL, dedupe_key = NULL, dedupe_base = NULL, person_key = NULL, purged_at = ?, "
    "updated_at = ? "
    "WHERE (state IN ('delivered', 'already', 'rejected') OR (state = 'dead' AND ? = 1)) "
    "AND purged_at IS NULL AND finished_at < ?"
)
