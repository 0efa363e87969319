-- Accepted disputes: a manual adjustment line carries its amount in manual_cents (its only
-- breakdown part) and the dispute it settles in dispute_id.
alter table settlement_lines add column manual_cents bigint default 0;
alter table settlement_lines add column dispute_id bigint;
update settlement_lines set manual_cents = 0 where manual_cents is null;
