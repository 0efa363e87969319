-- Settlement: periods, runs, lines with their breakdown, unpriced tickets, rule versions.

create table settlement_periods (
    period          varchar primary key,       -- YYYY-MM (Beijing month of completed_date)
    status          varchar not null,          -- open closed
    closed_at       timestamp,
    closed_by       varchar,
    note            varchar
);

create sequence settlement_run_id;

create table settlement_runs (
    run_id          bigint primary key,
    started_at      timestamp not null,
    finished_at     timestamp,
    periods         varchar not null,          -- the periods (re)written, comma separated
    rule_versions   varchar not null,          -- period=version, comma separated
    lines_written   bigint not null default 0,
    adjustments     bigint not null default 0,
    unpriced        bigint not null default 0,
    status          varchar not null,          -- succeeded unchanged failed
    error           varchar
);

-- One row per (period, line kind, payee, ticket[, origin period]); breakdown columns add up to
-- amount_cents exactly. amount is the same figure in yuan for analysts' SQL.
create table settlement_lines (
    period              varchar not null,
    line_kind           varchar not null,      -- ticket chargeback partner_monthly adjustment
    payee_type          varchar not null,      -- technician direct dealer agent
    payee_id            varchar not null,
    ticket_id           varchar,               -- null for partner monthly lines
    origin_period       varchar,               -- adjustment lines: the closed period corrected
    origin_kind         varchar,               -- adjustment lines: the kind of line corrected
    price_tier          varchar,
    ladder_rate_bp      bigint not null,
    base_cents          bigint not null,
    parts_cents         bigint not null,
    coefficient_cents   bigint not null,
    urgent_cents        bigint not null,
    night_cents         bigint not null,
    high_altitude_cents bigint not null,
    plateau_cents       bigint not null,
    township_cents      bigint not null,
    remote_cents        bigint not null,
    discount_cents      bigint not null,
    ladder_cents        bigint not null,
    rework_cents        bigint not null,
    chargeback_cents    bigint not null,
    clawback_cents      bigint not null,
    guarantee_cents     bigint not null,
    bonus_cents         bigint not null,
    fee_cents           bigint not null,
    tax_cents           bigint not null,
    amount_cents        bigint not null,
    amount              decimal(18, 2) not null,
    currency            varchar not null,
    amount_local_cents  bigint not null,
    is_rework           boolean not null,
    is_refunded         boolean not null,
    rule_version        varchar not null,
    run_id              bigint not null
);

create table settlement_unpriced (
    period          varchar not null,
    ticket_id       varchar not null,
    reason          varchar not null,
    rule_version    varchar not null,
    run_id          bigint not null,
    primary key (period, ticket_id)
);

-- Copies of the app store's published rule versions, for SQL (the app store is the source).
create table rule_versions (
    version         varchar primary key,
    effective_date  date not null,
    document        json not null,
    note            varchar not null,
    author          varchar not null,
    published_at    timestamp not null
);
