-- Real order feeds: orders without a delivery address, and every record of a file accounted for.
-- Virtual and self-pickup orders (e.g. Youzan's) carry no delivery province or city: they load
-- with a null place rather than being rejected; settlement treats them as having no province.
alter table orders alter column province_code drop not null;
alter table orders alter column city_code drop not null;

-- records_read = loaded + superseded + quarantined for every succeeded run: `loaded` counts the file's
-- records merged (one row each in the feed's record table: tickets, orders or order_refunds),
-- `superseded` the older versions of an id the same file also held (and exact repeats).
alter table ingestion_runs add column loaded bigint not null default 0;
alter table ingestion_runs add column superseded bigint not null default 0;
