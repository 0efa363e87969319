-- Replayable closed periods: at close, the settlement inputs of the period as they stood and the
-- rule timeline in force are frozen beside its lines, so `python -m settlement verify PERIOD`
-- can re-run the engine on them and prove the stored lines. Only what the engine reads is kept.

-- One row per period closed with its inputs frozen (periods closed earlier have none).
create table frozen_periods (
    period          varchar primary key,
    frozen_at       timestamp not null,
    frozen_by       varchar not null,
    corrects        varchar not null        -- closed periods whose adjustments it holds, comma separated
);

-- The tickets each replay needs, joined to their place and people as settlement read them.
-- scope is the period whose lines they recompute: the closed period itself, or a period it
-- corrects (adjustments). Besides the scope's tickets: the originals its reworks point to and
-- the other tickets serving its orders (which one served an order first decides partner lines).
create table frozen_tickets (
    period                      varchar not null,
    scope                       varchar not null,
    ticket_id                   varchar not null,
    item_code                   varchar,
    quantity                    integer,
    parts                       struct(part_code varchar, quantity integer)[],
    city_code                   varchar,
    city_tier                   varchar,
    is_plateau                  boolean,
    province_code               varchar,
    region_group                varchar,
    technician_id               varchar,
    technician_province_code    varchar,
    partner_id                  varchar,
    partner_type                varchar,
    partner_region_group        varchar,
    partner_province_code       varchar,
    is_urgent                   boolean,
    is_night                    boolean,
    is_township                 boolean,
    is_high_altitude            boolean,
    remote_guidance_minutes     integer,
    member_level                varchar,
    order_platform              varchar,
    order_id                    varchar,
    rework_of                   varchar,
    completed_at                timestamp,
    completed_date              date,
    primary key (period, scope, ticket_id)
);

-- The orders those tickets serve, as settlement saw them (succeeded refunds summed).
create table frozen_orders (
    period          varchar not null,
    platform        varchar not null,
    order_id        varchar not null,
    paid_cents      bigint,
    refunded_cents  bigint,
    is_forfeited    boolean,
    province_code   varchar,
    primary key (period, platform, order_id)
);

-- The rule timeline in force at close, in order (position 0 applies from the beginning); each
-- document is kept once, by its SHA-256.
create table frozen_rule_versions (
    period          varchar not null,
    position        integer not null,
    version         varchar not null,
    effective_date  date not null,
    digest          varchar not null,
    primary key (period, position)
);

create table frozen_rule_documents (
    digest          varchar primary key,
    document        json not null
);
