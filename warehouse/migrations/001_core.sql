-- Core warehouse: reference tables, canonical tickets and orders, quarantine, ingestion runs.
-- Public contract: analysts query these tables; the README documents every column.
-- Money is integer cents (BIGINT, *_cents); timestamps are UTC (*_at); business dates are
-- Beijing-time calendar dates (*_date), because periods are Beijing months.
-- Foreign keys are named in comments and tested in the suite rather than declared: DuckDB cannot
-- update a referenced row, and reference data is refreshed in place on every load.

create table provinces (
    province_code   varchar primary key,   -- 2-digit statistical code, e.g. '11'
    province_name   varchar not null,      -- full name, e.g. '北京市', '陕西省'
    short_name      varchar not null,      -- e.g. '北京', '陕西'
    region_group    varchar not null       -- 华北 东北 华东 华中 华南 西南 西北
);

create table cities (
    city_code       varchar primary key,   -- 6-digit statistical code, e.g. '110100'
    city_name       varchar not null,      -- e.g. '北京市', '成都市'
    short_name      varchar not null,      -- e.g. '北京', '成都'
    province_code   varchar not null,     -- provinces.province_code
    city_tier       varchar not null,      -- 一线 新一线 二线 三线 四线 五线
    is_plateau      boolean not null       -- mean altitude high enough for the plateau subsidy
);

create table service_items (
    item_code       varchar primary key,   -- e.g. 'INS-AC-01'
    item_name       varchar not null,
    category        varchar not null,      -- install repair maintenance survey consult
    unit            varchar not null       -- 台 次 套 米 小时 …
);

create table parts (
    part_code       varchar primary key,   -- e.g. 'P-COMP-01'
    part_name       varchar not null,
    category        varchar not null,
    unit            varchar not null
);

create table partners (
    partner_id      varchar primary key,   -- e.g. 'PT0001'
    partner_name    varchar not null,
    partner_type    varchar not null,      -- direct dealer agent
    province_code   varchar not null       -- provinces.province_code
);

create table technicians (
    technician_id       varchar primary key,   -- e.g. 'T00001'
    technician_name     varchar not null,
    home_city_code      varchar not null,  -- cities.city_code
    partner_id          varchar not null,  -- partners.partner_id
    qualification_level integer not null,      -- 1 (junior) .. 5 (master)
    hired_date          date not null
);

-- One row per ticket, the newest version seen (highest updated_at) of the ticket system's export.
create table tickets (
    ticket_id               varchar primary key,
    status                  varchar not null,  -- created assigned in_progress completed cancelled
    item_code               varchar not null,
    quantity                integer not null,
    parts                   struct(part_code varchar, quantity integer)[] not null,
    city_code               varchar not null,
    technician_id           varchar,           -- null only while status is created
    partner_id              varchar,           -- the partner the technician served through
    scenario                varchar not null,  -- pre_sale in_sale after_sale
    channel                 varchar not null,  -- self_service staff auto_rule
    is_urgent               boolean not null,
    is_night                boolean not null,
    is_township             boolean not null,
    is_high_altitude        boolean not null,
    remote_guidance_minutes integer not null,
    member_level            varchar not null,  -- none silver gold platinum
    order_platform          varchar,           -- taobao youzan wechat, when the ticket serves an order
    order_id                varchar,
    rework_of               varchar,           -- ticket_id this ticket reworks
    created_at              timestamp not null,
    completed_at            timestamp,
    completed_date          date,              -- Beijing date of completed_at; its month is the period
    updated_at              timestamp not null,
    run_id                  bigint not null    -- ingestion_runs.run_id that wrote this version
);

-- One row per platform order (the whole trade), newest version seen.
create table orders (
    platform        varchar not null,          -- taobao youzan wechat
    order_id        varchar not null,          -- the platform's id, kept as a string
    status          varchar not null,          -- pending_payment paid shipped completed closed
    is_presale      boolean not null,
    presale_stage   varchar,                   -- deposit_pending deposit_paid final_paid deposit_forfeited
    total_cents     bigint not null,           -- goods value before discounts
    paid_cents      bigint not null,           -- what the buyer has paid so far
    deposit_cents   bigint not null,           -- pre-sale deposit (0 when not pre-sale)
    province_code   varchar not null,
    city_code       varchar not null,
    item_count      integer not null,
    created_at      timestamp not null,
    paid_at         timestamp,
    updated_at      timestamp not null,
    run_id          bigint not null,
    primary key (platform, order_id)
);

-- Refunds are their own rows: a refund arrives after the order, often after its ticket closed.
create table order_refunds (
    platform        varchar not null,
    refund_id       varchar not null,
    order_id        varchar not null,
    status          varchar not null,          -- requested succeeded rejected
    refund_cents    bigint not null,
    requested_at    timestamp not null,
    refunded_at     timestamp,                 -- set once status is succeeded
    updated_at      timestamp not null,
    run_id          bigint not null,
    primary key (platform, refund_id)
);

create sequence ingestion_run_id;

create table ingestion_runs (
    run_id          bigint primary key default nextval('ingestion_run_id'),
    feed            varchar not null,          -- fsm_csv fsm_jsonl taobao_trades taobao_refunds youzan_trades ...
    file            varchar not null,          -- path as given
    file_sha256     varchar not null,
    started_at      timestamp not null,
    finished_at     timestamp,
    records_read    bigint not null default 0,
    inserted        bigint not null default 0,
    updated         bigint not null default 0,
    unchanged       bigint not null default 0,
    quarantined     bigint not null default 0,
    watermark       timestamp,                 -- newest updated_at accepted from this file
    status          varchar not null,          -- succeeded failed skipped
    error           varchar
);

-- Every rejected record field, with enough to find and fix it at the source.
create table quarantine (
    feed            varchar not null,
    file            varchar not null,
    file_sha256     varchar not null,
    record_number   bigint not null,           -- 1-based data record (CSV row after the header, JSON line)
    field           varchar not null,          -- the source's own field name
    value           varchar,                   -- the offending value as read
    reason          varchar not null,
    raw_record      varchar not null,          -- the whole record as read
    run_id          bigint not null,
    primary key (file_sha256, record_number, field, reason)
);
