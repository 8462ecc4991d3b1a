import Foundation

/// The PostgreSQL-only tables and server functions of replica coordination (issue 18): replicas
/// and their heartbeats, one lease per service, each service's checkpoint, and the metrics inbox.
///
/// **Why PostgreSQL-only, and how it shares the migration list.** SQLite serves one process and
/// has nothing to coordinate, so these tables have no SQLite twin. Their migration is recorded in
/// the same `grdb_migrations` table as the shared ones, under an identifier that begins
/// `postgres-` (SQLite's are `vN-…`, so the two can never collide), and applied after the shared
/// migrations (`PostgresSchema.postgresOnlyMigrations`); `appliedMigrations()` reports only the
/// shared list, which is what the conformance suite compares between the two stores. A database
/// holding a `postgres-…` identifier this build does not know is refused like any newer schema.
///
/// **Time is the database's.** Every expiry is a `timestamptz` set and compared with
/// `clock_timestamp()` on the server; replicas never compare their own clocks with each other's.
/// What a replica learns is a remaining time (`expires_in_ms`), which it counts down on its own
/// monotonic clock from the moment it *sent* the request (so its local view expires no later than
/// the server's).
enum ReplicaSchema {
    static let migration = PostgresSchema.Migration(identifier: "postgres-v1-replicas", statements: [
        // One row per replica name. `incarnation` is random per process start: two processes
        // started with one name are told apart, and a lease belongs to an incarnation.
        """
        CREATE TABLE replica (
            name TEXT NOT NULL PRIMARY KEY, incarnation TEXT NOT NULL, started_at TIMESTAMPTZ NOT NULL,
            heartbeat_at TIMESTAMPTZ NOT NULL, expires_at TIMESTAMPTZ NOT NULL)
        """,
        // One row per service. `epoch` counts the claims of the service: the fencing token.
        // A free lease has no owner and an expiry in the past.
        """
        CREATE TABLE service_lease (
            service TEXT NOT NULL PRIMARY KEY, owner TEXT, incarnation TEXT, epoch BIGINT NOT NULL,
            expires_at TIMESTAMPTZ NOT NULL, renewed_at TIMESTAMPTZ, claimed_at TIMESTAMPTZ)
        """,
        "CREATE INDEX service_lease_on_incarnation ON service_lease (incarnation)",
        // What an owner saved of a service (opaque to the store): failover resumes from it.
        // `inbox_position` is the last inbox sequence number processed.
        """
        CREATE TABLE service_checkpoint (
            service TEXT NOT NULL PRIMARY KEY, epoch BIGINT NOT NULL, inbox_position BIGINT NOT NULL,
            state BYTEA, open_incident TEXT, saved_at TIMESTAMPTZ NOT NULL)
        """,
        // Per service: the last sequence number handed out and the newest row time accepted.
        // Appends lock this row, so sequence numbers are given in commit order.
        """
        CREATE TABLE inbox_head (
            service TEXT NOT NULL PRIMARY KEY, last_seq BIGINT NOT NULL, last_at BIGINT NOT NULL)
        """,
        """
        CREATE TABLE metric_inbox (
            service TEXT NOT NULL, seq BIGINT NOT NULL, at BIGINT NOT NULL, body TEXT NOT NULL,
            accepted_by TEXT NOT NULL, PRIMARY KEY (service, seq))
        """,
    ])

    /// The tables above (the schema check against SQLite leaves them out).
    static let tables: Set<String> = ["replica", "service_lease", "service_checkpoint", "inbox_head", "metric_inbox"]

    /// The channel `triage_inbox_append_v1` notifies, with the service as payload.
    static let inboxChannel = "triage_inbox"

    /// SQLSTATE raised by `triage_fence_v1` (class "TF", Triage fencing; user-defined classes
    /// are free in PostgreSQL).
    static let fencedState = "TF001"

    static let joinFunction = "triage_replica_join_v1"
    static let roundFunction = "triage_lease_round_v2"
    /// The round of builds before v2 (still installed, so they can run beside this one).
    static let roundFunctionV1 = "triage_lease_round_v1"
    static let leaveFunction = "triage_replica_leave_v1"
    static let leaseCheckFunction = "triage_lease_check_v1"
    static let fenceFunction = "triage_fence_v1"
    static let fencedRaiseFunction = "triage_raise_fenced_v1"
    static let checkpointFunction = "triage_checkpoint_v1"
    static let appendFunction = "triage_inbox_append_v1"
    static let batchAppendFunction = "triage_inbox_append_v2"
    static let checkpointWithEventsFunction = "triage_checkpoint_v2"

    /// Milliseconds left before `t`, on the server's clock (negative once past).
    private static func millisecondsUntil(_ t: String) -> String {
        "(extract(epoch FROM (\(t) - clock_timestamp())) * 1000)::BIGINT"
    }

    static var routines: [(name: String, definition: String)] {
        [(joinFunction, join), (roundFunctionV1, roundV1), (roundFunction, round), (leaveFunction, leave), (leaseCheckFunction, leaseCheck),
         (fenceFunction, fence), (fencedRaiseFunction, fencedRaise), (checkpointFunction, checkpoint),
         (appendFunction, append), (batchAppendFunction, batchAppend), (checkpointWithEventsFunction, checkpointWithEvents)]
    }

    /// Registers a replica name for `ttl_ms`, unless a live process of another incarnation holds
    /// it: then `joined` is false and the holder's remaining time is given.
    static let join = """
        CREATE FUNCTION \(joinFunction)(replica_name TEXT, new_incarnation TEXT, ttl_ms BIGINT,
            OUT joined BOOLEAN, OUT holder_incarnation TEXT, OUT expires_in_ms BIGINT)
        LANGUAGE plpgsql VOLATILE AS $$
        DECLARE
            now_ts TIMESTAMPTZ := clock_timestamp();
        BEGIN
            INSERT INTO replica AS r (name, incarnation, started_at, heartbeat_at, expires_at)
                VALUES (replica_name, new_incarnation, now_ts, now_ts, now_ts + ttl_ms * INTERVAL '1 millisecond')
                ON CONFLICT (name) DO UPDATE SET incarnation = excluded.incarnation, started_at = excluded.started_at,
                    heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at
                WHERE r.expires_at <= now_ts OR r.incarnation = excluded.incarnation
                RETURNING true INTO joined;
            joined := COALESCE(joined, false);
            SELECT r.incarnation, \(millisecondsUntil("r.expires_at")) INTO holder_incarnation, expires_in_ms
                FROM replica r WHERE r.name = replica_name;
        END
        $$
        """

    /// One round of a replica, in one transaction: heartbeat (or `lost` when its registration
    /// lapsed or another incarnation took the name); renew its unexpired leases; count the live
    /// replicas and the services, fair share = ⌈services / replicas⌉; above it, release the
    /// surplus (free at once); below it, claim expired leases up to it with `FOR UPDATE SKIP
    /// LOCKED`, each claim incrementing the epoch. Returns a `replica` row (live replicas, fair
    /// share, the registration's remaining time), then a `held` row per lease it holds.
    /// A lease round (see `LeaseKeeper`), its name and which registrations count as live
    /// replicas in the fair share being what its versions differ in.
    private static func roundDefinition(name: String, extraParameter: String, liveCondition: String) -> String {
        """
        CREATE FUNCTION \(name)(replica_name TEXT, my_incarnation TEXT, ttl_ms BIGINT\(extraParameter))
        RETURNS TABLE (kind TEXT, service TEXT, epoch BIGINT, expires_in_ms BIGINT, live_replicas BIGINT, fair_share BIGINT)
        LANGUAGE plpgsql VOLATILE AS $$
        DECLARE
            now_ts TIMESTAMPTZ := clock_timestamp();
            ttl INTERVAL := ttl_ms * INTERVAL '1 millisecond';
            live BIGINT;
            total BIGINT;
            fair BIGINT;
            held BIGINT;
        BEGIN
            UPDATE replica r SET heartbeat_at = now_ts, expires_at = now_ts + ttl
                WHERE r.name = replica_name AND r.incarnation = my_incarnation AND r.expires_at > now_ts;
            IF NOT FOUND THEN
                RETURN QUERY SELECT 'lost'::TEXT, NULL::TEXT, NULL::BIGINT, NULL::BIGINT, 0::BIGINT, 0::BIGINT;
                RETURN;
            END IF;
            UPDATE service_lease l SET expires_at = now_ts + ttl, renewed_at = now_ts
                WHERE l.incarnation = my_incarnation AND l.expires_at > now_ts;
            SELECT count(*) INTO live FROM replica r WHERE \(liveCondition);
            SELECT count(*) INTO total FROM service_lease;
            fair := (total + live - 1) / live;
            SELECT count(*) INTO held FROM service_lease l WHERE l.incarnation = my_incarnation AND l.expires_at > now_ts;
            IF held > fair THEN
                UPDATE service_lease l SET owner = NULL, incarnation = NULL, expires_at = now_ts
                    FROM (SELECT s.service FROM service_lease s WHERE s.incarnation = my_incarnation AND s.expires_at > now_ts
                          ORDER BY s.service DESC LIMIT held - fair FOR UPDATE SKIP LOCKED) surplus
                    WHERE l.service = surplus.service;
            ELSIF held < fair THEN
                UPDATE service_lease l SET owner = replica_name, incarnation = my_incarnation, epoch = l.epoch + 1,
                        expires_at = now_ts + ttl, renewed_at = now_ts, claimed_at = now_ts
                    FROM (SELECT s.service FROM service_lease s WHERE s.expires_at <= now_ts
                          ORDER BY s.expires_at, s.service LIMIT fair - held FOR UPDATE SKIP LOCKED) free
                    WHERE l.service = free.service;
            END IF;
            RETURN QUERY SELECT 'replica'::TEXT, NULL::TEXT, NULL::BIGINT, ttl_ms, live, fair;
            RETURN QUERY SELECT 'held'::TEXT, l.service, l.epoch, \(millisecondsUntil("l.expires_at")), live, fair
                FROM service_lease l WHERE l.incarnation = my_incarnation AND l.expires_at > now_ts ORDER BY l.service;
        END
        $$
        """
    }

    /// One round of a replica (see `LeaseKeeper`). The fair share counts the replicas that
    /// heartbeated within `active_ms` (two renewals): a replica paused or cut off stops counting
    /// after two missed rounds, though its registration and leases stand until they expire, so
    /// when a second replica dies soon after a first the survivors' share already covers the
    /// first one's services as they expire (with the registrations' 10 s, a lone survivor had
    /// claimed only half of them until the paused one's registration lapsed too: failover took
    /// up to 15.2 s in benchmarks/cluster.sh). It only claims what is free or expired, so a slow
    /// replica's leases are never taken early; once it heartbeats again it counts again and the
    /// others release their surplus to it.
    static let round = roundDefinition(
        name: roundFunction, extraParameter: ", active_ms BIGINT",
        liveCondition: "r.expires_at > now_ts AND r.heartbeat_at > now_ts - active_ms * INTERVAL '1 millisecond'")

    /// The round before v2: the fair share counted every unexpired registration.
    static let roundV1 = roundDefinition(name: roundFunctionV1, extraParameter: "", liveCondition: "r.expires_at > now_ts")

    /// A replica stopping: frees its leases at once and removes its registration.
    static let leave = """
        CREATE FUNCTION \(leaveFunction)(replica_name TEXT, my_incarnation TEXT) RETURNS BIGINT
        LANGUAGE plpgsql VOLATILE AS $$
        DECLARE
            released BIGINT;
        BEGIN
            UPDATE service_lease l SET owner = NULL, incarnation = NULL, expires_at = clock_timestamp()
                WHERE l.incarnation = my_incarnation AND l.expires_at > clock_timestamp();
            GET DIAGNOSTICS released = ROW_COUNT;
            DELETE FROM replica r WHERE r.name = replica_name AND r.incarnation = my_incarnation;
            RETURN released;
        END
        $$
        """

    /// The fencing rule: epoch `owner_epoch` may write for `fenced_service` only while it is the
    /// service's current epoch and the lease is unexpired (database time). The lease row is
    /// locked `FOR SHARE` until the caller's transaction ends, so a takeover (which locks it `FOR
    /// UPDATE`) comes strictly before or after the write: the new owner reads a checkpoint that
    /// includes it, or the write is refused.
    static let leaseCheck = """
        CREATE FUNCTION \(leaseCheckFunction)(fenced_service TEXT, owner_epoch BIGINT,
            OUT holds BOOLEAN, OUT lease_owner TEXT, OUT lease_epoch BIGINT)
        LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
            SELECT l.owner, l.epoch, (l.epoch = owner_epoch AND l.owner IS NOT NULL AND l.expires_at > clock_timestamp())
                INTO lease_owner, lease_epoch, holds
                FROM service_lease l WHERE l.service = fenced_service FOR SHARE;
            IF NOT FOUND THEN
                holds := false;
                lease_epoch := 0;
            END IF;
        END
        $$
        """

    /// The same rule for any other write of an owner inside a transaction of its own: raises
    /// SQLSTATE TF001 (`fencedState`) with the current owner and epoch in the detail.
    static let fence = """
        CREATE FUNCTION \(fenceFunction)(fenced_service TEXT, owner_epoch BIGINT) RETURNS VOID
        LANGUAGE plpgsql VOLATILE AS $$
        DECLARE
            c RECORD;
        BEGIN
            SELECT * INTO c FROM \(leaseCheckFunction)(fenced_service, owner_epoch);
            IF NOT c.holds THEN
                RAISE EXCEPTION 'service % is fenced for epoch %', fenced_service, owner_epoch
                    USING ERRCODE = '\(fencedState)', DETAIL = format('owner=%s epoch=%s', COALESCE(c.lease_owner, ''), c.lease_epoch);
            END IF;
        END
        $$
        """

    /// `triage_raise_v1` behind the fence (v1 itself is unchanged): `fenced` with the current
    /// owner and epoch, or v1's answer.
    static let fencedRaise = """
        CREATE FUNCTION \(fencedRaiseFunction)(fenced_service TEXT, owner_epoch BIGINT, expected_number BIGINT, new_row JSON,
            event_type TEXT, event_at BIGINT, event_body TEXT, journal_capacity BIGINT,
            OUT result_kind TEXT, OUT found_id TEXT, OUT raised_count BIGINT, OUT lease_owner TEXT, OUT lease_epoch BIGINT)
        LANGUAGE plpgsql VOLATILE AS $$
        DECLARE
            c RECORD;
            r RECORD;
        BEGIN
            IF new_row->>'service' IS DISTINCT FROM fenced_service THEN
                RAISE EXCEPTION 'a recommendation for % raised under the lease of %', new_row->>'service', fenced_service;
            END IF;
            SELECT * INTO c FROM \(leaseCheckFunction)(fenced_service, owner_epoch);
            lease_owner := c.lease_owner;
            lease_epoch := c.lease_epoch;
            IF NOT c.holds THEN
                result_kind := 'fenced';
                RETURN;
            END IF;
            SELECT * INTO r FROM \(PostgresSchema.raiseFunction)(expected_number, new_row, event_type, event_at, event_body, journal_capacity);
            result_kind := r.result_kind;
            found_id := r.found_id;
            raised_count := r.raised_count;
        END
        $$
        """

    /// Saves a service's checkpoint behind the fence and consumes its inbox rows up to
    /// `new_position` in the same transaction (deletes them: the position says what was
    /// processed, so a row is processed once whoever owns the service next). Compare-and-set on
    /// the position: `moved` when the stored one is not `expected_position` (another consumer
    /// of the same epoch saved first, so these rows were processed twice and must not count);
    /// `behind` when the position goes back, `ahead` past the last row appended.
    static let checkpoint = """
        CREATE FUNCTION \(checkpointFunction)(fenced_service TEXT, owner_epoch BIGINT, expected_position BIGINT,
            new_position BIGINT, new_state BYTEA,
            new_incident TEXT, OUT result_kind TEXT, OUT lease_owner TEXT, OUT lease_epoch BIGINT, OUT at_position BIGINT,
            OUT consumed BIGINT)
        LANGUAGE plpgsql VOLATILE AS $$
        DECLARE
            c RECORD;
            head BIGINT;
        BEGIN
            SELECT * INTO c FROM \(leaseCheckFunction)(fenced_service, owner_epoch);
            lease_owner := c.lease_owner;
            lease_epoch := c.lease_epoch;
            consumed := 0;
            IF NOT c.holds THEN
                result_kind := 'fenced';
                RETURN;
            END IF;
            SELECT s.inbox_position INTO at_position FROM service_checkpoint s WHERE s.service = fenced_service FOR UPDATE;
            at_position := COALESCE(at_position, 0);
            IF at_position <> expected_position THEN
                result_kind := 'moved';
                RETURN;
            END IF;
            IF new_position < at_position THEN
                result_kind := 'behind';
                RETURN;
            END IF;
            SELECT h.last_seq INTO head FROM inbox_head h WHERE h.service = fenced_service;
            IF new_position > COALESCE(head, 0) THEN
                result_kind := 'ahead';
                at_position := COALESCE(head, 0);
                RETURN;
            END IF;
            INSERT INTO service_checkpoint AS s (service, epoch, inbox_position, state, open_incident, saved_at)
                VALUES (fenced_service, owner_epoch, new_position, new_state, new_incident, clock_timestamp())
                ON CONFLICT (service) DO UPDATE SET epoch = excluded.epoch, inbox_position = excluded.inbox_position,
                    state = excluded.state, open_incident = excluded.open_incident, saved_at = excluded.saved_at;
            DELETE FROM metric_inbox m WHERE m.service = fenced_service AND m.seq > at_position AND m.seq <= new_position;
            GET DIAGNOSTICS consumed = ROW_COUNT;
            at_position := new_position;
            result_kind := 'saved';
        END
        $$
        """

    /// Appends rows for any services: per service, locks its head (in service order, so two
    /// appenders never deadlock), numbers the rows after the head in time order (ties in the
    /// order given), refuses rows older than the newest the service accepted (`late`), creates a
    /// free lease for a service never seen, and notifies `inboxChannel` once per service.
    static let append = """
        CREATE FUNCTION \(appendFunction)(row_services TEXT[], row_ats BIGINT[], row_bodies TEXT[], accepted_by TEXT,
            OUT accepted BIGINT, OUT late BIGINT)
        LANGUAGE plpgsql VOLATILE AS $$
        DECLARE
            notifications BIGINT;
        BEGIN
            WITH new_heads AS (
                INSERT INTO inbox_head (service, last_seq, last_at)
                    SELECT DISTINCT u.s, 0, -9223372036854775808 FROM unnest(row_services) AS u(s) ORDER BY u.s
                    ON CONFLICT (service) DO NOTHING RETURNING inbox_head.service)
            INSERT INTO service_lease (service, epoch, expires_at) SELECT n.service, 0, '-infinity' FROM new_heads n
                ON CONFLICT (service) DO NOTHING;
            PERFORM 1 FROM inbox_head h WHERE h.service = ANY(row_services) ORDER BY h.service FOR UPDATE;
            WITH batch AS (
                SELECT t.s, t.at, t.body, t.ord FROM unnest(row_services, row_ats, row_bodies) WITH ORDINALITY AS t(s, at, body, ord)),
            ranked AS (
                SELECT b.s, b.at, b.body, h.last_seq + row_number() OVER (PARTITION BY b.s ORDER BY b.at, b.ord) AS seq
                FROM batch b JOIN inbox_head h ON h.service = b.s WHERE b.at >= h.last_at),
            inserted AS (
                INSERT INTO metric_inbox (service, seq, at, body, accepted_by)
                    SELECT r.s, r.seq, r.at, r.body, accepted_by FROM ranked r RETURNING metric_inbox.service, metric_inbox.seq, metric_inbox.at),
            moved AS (
                UPDATE inbox_head h SET last_seq = m.seq, last_at = m.at
                    FROM (SELECT i.service, max(i.seq) AS seq, max(i.at) AS at FROM inserted i GROUP BY i.service) m
                    WHERE h.service = m.service RETURNING h.service),
            notified AS (
                SELECT pg_notify('\(inboxChannel)', mv.service) FROM moved mv)
            SELECT (SELECT count(*) FROM inserted), (SELECT count(*) FROM notified) INTO accepted, notifications;
            late := COALESCE(array_length(row_services, 1), 0) - accepted;
        END
        $$
        """

    /// Appends batches: each is one service's rows of one request (`first_at` … `last_at`, `row_count`
    /// rows in `body`), at most one per service. All or nothing, as `serve` without replicas refuses
    /// a request: when a batch begins before the newest row its service accepted, nothing is
    /// appended and that service, its first time and the newest accepted time are returned. A
    /// batch's inbox time is its last row's, so the next batch of its service must not begin
    /// before it. Heads are locked in service order (two appenders never deadlock); a service never
    /// seen gets a head and a free lease; each service appended to is notified once.
    static let batchAppend = """
        CREATE FUNCTION \(batchAppendFunction)(batch_services TEXT[], batch_firsts BIGINT[], batch_lasts BIGINT[],
            batch_counts BIGINT[], batch_bodies TEXT[], accepted_by TEXT,
            OUT accepted BIGINT, OUT late_service TEXT, OUT late_first BIGINT, OUT newest_at BIGINT)
        LANGUAGE plpgsql VOLATILE AS $$
        DECLARE
            notifications BIGINT;
        BEGIN
            accepted := 0;
            WITH new_heads AS (
                INSERT INTO inbox_head (service, last_seq, last_at)
                    SELECT DISTINCT u.s, 0, -9223372036854775808 FROM unnest(batch_services) AS u(s) ORDER BY u.s
                    ON CONFLICT (service) DO NOTHING RETURNING inbox_head.service)
            INSERT INTO service_lease (service, epoch, expires_at) SELECT n.service, 0, '-infinity' FROM new_heads n
                ON CONFLICT (service) DO NOTHING;
            PERFORM 1 FROM inbox_head h WHERE h.service = ANY(batch_services) ORDER BY h.service FOR UPDATE;
            SELECT t.s, t.f, h.last_at INTO late_service, late_first, newest_at
                FROM unnest(batch_services, batch_firsts) WITH ORDINALITY AS t(s, f, ord) JOIN inbox_head h ON h.service = t.s
                WHERE t.f < h.last_at ORDER BY t.ord LIMIT 1;
            IF FOUND THEN
                RETURN;
            END IF;
            WITH batch AS (
                SELECT t.s, t.f, t.l, t.body, t.ord
                FROM unnest(batch_services, batch_firsts, batch_lasts, batch_bodies) WITH ORDINALITY AS t(s, f, l, body, ord)),
            ranked AS (
                SELECT b.s, b.l, b.body, h.last_seq + row_number() OVER (PARTITION BY b.s ORDER BY b.f, b.ord) AS seq
                FROM batch b JOIN inbox_head h ON h.service = b.s),
            inserted AS (
                INSERT INTO metric_inbox (service, seq, at, body, accepted_by)
                    SELECT r.s, r.seq, r.l, r.body, accepted_by FROM ranked r RETURNING metric_inbox.service, metric_inbox.seq, metric_inbox.at),
            moved AS (
                UPDATE inbox_head h SET last_seq = m.seq, last_at = m.at
                    FROM (SELECT i.service, max(i.seq) AS seq, max(i.at) AS at FROM inserted i GROUP BY i.service) m
                    WHERE h.service = m.service RETURNING h.service),
            notified AS (
                SELECT pg_notify('\(inboxChannel)', mv.service) FROM moved mv)
            SELECT (SELECT count(*) FROM notified) INTO notifications;
            SELECT COALESCE(sum(c), 0) INTO accepted FROM unnest(batch_counts) AS u(c);
        END
        $$
        """

    /// `triage_checkpoint_v1`, and when it saves, the journal events of the rows it consumes
    /// (health state changes) in the same transaction: a takeover that replays rows whose
    /// checkpoint was never saved journals their events once, not twice. Trims the journal as a
    /// raise does when an id passes a multiple of 1 000.
    static let checkpointWithEvents = """
        CREATE FUNCTION \(checkpointWithEventsFunction)(fenced_service TEXT, owner_epoch BIGINT, expected_position BIGINT,
            new_position BIGINT, new_state BYTEA, new_incident TEXT, event_types TEXT[], event_bodies TEXT[], event_at BIGINT,
            journal_capacity BIGINT,
            OUT result_kind TEXT, OUT lease_owner TEXT, OUT lease_epoch BIGINT, OUT at_position BIGINT, OUT consumed BIGINT)
        LANGUAGE plpgsql VOLATILE AS $$
        DECLARE
            r RECORD;
            first_id BIGINT;
            last_id BIGINT;
        BEGIN
            SELECT * INTO r FROM \(checkpointFunction)(fenced_service, owner_epoch, expected_position, new_position, new_state, new_incident);
            result_kind := r.result_kind;
            lease_owner := r.lease_owner;
            lease_epoch := r.lease_epoch;
            at_position := r.at_position;
            consumed := r.consumed;
            IF r.result_kind <> 'saved' OR COALESCE(array_length(event_types, 1), 0) = 0 THEN
                RETURN;
            END IF;
            WITH inserted AS (
                INSERT INTO event (type, at, body)
                    SELECT t.type, event_at, t.body FROM unnest(event_types, event_bodies) WITH ORDINALITY AS t(type, body, ord) ORDER BY t.ord
                    RETURNING id)
            SELECT min(id), max(id) INTO first_id, last_id FROM inserted;
            IF last_id / 1000 > (first_id - 1) / 1000 THEN
                DELETE FROM event WHERE id <= last_id - journal_capacity;
            END IF;
        END
        $$
        """
}
