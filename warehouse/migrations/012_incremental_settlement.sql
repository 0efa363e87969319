-- Incremental settlement: what the last run settled from, so that the next one recomputes only
-- the (payee, period) groups whose inputs or rules changed since (warehouse/dirty.py). Each run
-- replaces this baseline in its own transaction; no baseline row means the next run is full.

-- The run that left the baseline, digests of what it cannot follow row by row (the code that
-- computed the lines, the reference tables settlement joins: either changed means a full run),
-- and the orders' hashes combined.
create table settlement_baseline (
    run_id              bigint primary key,
    code_digest         varchar not null,
    reference_digest    varchar not null,
    orders_fingerprint  ubigint not null,
    orders              bigint not null,
    taken_at            timestamp not null
);

-- Every settlement input ticket (completed, with a completion date) as the run read it: the
-- keys of the groups it belongs to, the ticket and order it links to, and a hash of its row.
create table settlement_seen_tickets (
    ticket_id       varchar not null,    -- unique: the tickets table's key
    period          varchar not null,
    technician_id   varchar,
    partner_id      varchar,
    order_platform  varchar,
    order_id        varchar,
    rework_of       varchar,
    fingerprint     ubigint not null
);

-- Each period as the run settled it: its status, a digest of the rule versions pricing it, and
-- its tickets' hashes combined (comparing these few rows finds the periods whose tickets
-- changed without comparing every ticket).
create table settlement_seen_periods (
    period          varchar primary key,
    status          varchar not null,
    rules_digest    varchar not null,
    fingerprint     ubigint not null,
    tickets         bigint not null
);

-- Every order as settlement read it (paid, refunded, forfeited, delivery province), hashed.
create table settlement_seen_orders (
    platform        varchar not null,
    order_id        varchar not null,
    fingerprint     ubigint not null,
    primary key (platform, order_id)
);

alter table settlement_runs add column mode varchar;                -- full incremental
alter table settlement_runs add column groups_recomputed bigint;    -- (payee, period) groups settled
