-- The feed tables lose their primary-key indexes. Each merge already keeps one row per key (the
-- batch keeps its newest version of each key, replaces the rows it matches, inserts only what an
-- anti join finds missing, all under the single writer), so the indexes checked nothing the merge
-- does not guarantee, yet maintaining them was more than a third of every load: inserting into
-- the ART index, rewriting it at every commit, and updating through it. Same columns, same order,
-- same NOT NULLs; the keys stay in the comments and in `pipelines/canonical.py` (KEYS,
-- QUARANTINE_KEY).

create table tickets__unindexed (
    ticket_id               varchar not null,  -- key
    status                  varchar not null,
    item_code               varchar not null,
    quantity                integer not null,
    parts                   struct(part_code varchar, quantity integer)[] not null,
    city_code               varchar not null,
    technician_id           varchar,
    partner_id              varchar,
    scenario                varchar not null,
    channel                 varchar not null,
    is_urgent               boolean not null,
    is_night                boolean not null,
    is_township             boolean not null,
    is_high_altitude        boolean not null,
    remote_guidance_minutes integer not null,
    member_level            varchar not null,
    order_platform          varchar,
    order_id                varchar,
    rework_of               varchar,
    created_at              timestamp not null,
    completed_at            timestamp,
    completed_date          date,
    updated_at              timestamp not null,
    run_id                  bigint not null
);
insert into tickets__unindexed select * from tickets;
drop table tickets;
alter table tickets__unindexed rename to tickets;

create table orders__unindexed (
    platform        varchar not null,          -- key, with order_id
    order_id        varchar not null,
    status          varchar not null,
    is_presale      boolean not null,
    presale_stage   varchar,
    total_cents     bigint not null,
    paid_cents      bigint not null,
    deposit_cents   bigint not null,
    province_code   varchar,                   -- null: no delivery address (006)
    city_code       varchar,
    item_count      integer not null,
    created_at      timestamp not null,
    paid_at         timestamp,
    updated_at      timestamp not null,
    run_id          bigint not null
);
insert into orders__unindexed select * from orders;
drop table orders;
alter table orders__unindexed rename to orders;

create table order_refunds__unindexed (
    platform        varchar not null,          -- key, with refund_id
    refund_id       varchar not null,
    order_id        varchar not null,
    status          varchar not null,
    refund_cents    bigint not null,
    requested_at    timestamp not null,
    refunded_at     timestamp,
    updated_at      timestamp not null,
    run_id          bigint not null
);
insert into order_refunds__unindexed select * from order_refunds;
drop table order_refunds;
alter table order_refunds__unindexed rename to order_refunds;

create table quarantine__unindexed (
    feed            varchar not null,
    file            varchar not null,
    file_sha256     varchar not null,          -- key, with record_number, field and reason
    record_number   bigint not null,
    field           varchar not null,
    value           varchar,
    reason          varchar not null,
    raw_record      varchar not null,
    run_id          bigint not null
);
insert into quarantine__unindexed select * from quarantine;
drop table quarantine;
alter table quarantine__unindexed rename to quarantine;
