-- A closed period's manual adjustments (accepted disputes) as the app store recorded them at
-- close: `settlement verify` proves the period's manual_adjustment lines against them.
create table frozen_manual_adjustments (
    period          varchar not null,
    dispute_id      bigint not null,
    payee_type      varchar not null,
    payee_id        varchar not null,
    ticket_id       varchar,
    amount_cents    bigint not null,
    primary key (period, dispute_id)
);
