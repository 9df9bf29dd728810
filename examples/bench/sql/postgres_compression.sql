-- The server's own cost of writing and reading one large session, per type
-- of `data` and per compression method, with no client in the way:
-- 2 000 prepared `UPDATE`s of a 92 KB JSON document over 100 rows, then
-- 2 000 reads that decompress it, one table per combination.
--
--   psql -h 127.0.0.1 -U postgres test -q -f examples/bench/sql/postgres_compression.sql
--
-- It leaves nothing behind. BYTEA is the peer's type (its MessagePack is
-- replaced by the same JSON text, so every table holds the same bytes).
DROP TABLE IF EXISTS cmp_doc;
CREATE TABLE cmp_doc AS SELECT (jsonb_build_object('user_id',1,'theme','dark','recently_viewed',
  (SELECT jsonb_agg(jsonb_build_object('sku','SKU-'||lpad(n::text,6,'0'),'title','Item '||n||': a product title long enough to look like one in a shop','price_cents',1999+n,'qty',1+n%3)) FROM generate_series(0,700) n)))::text AS doc;
SELECT length(doc) FROM cmp_doc;
DO $$
DECLARE t text; c text; d text; st timestamptz; i int; ty text;
BEGIN
  SELECT doc INTO d FROM cmp_doc;
  FOREACH ty IN ARRAY ARRAY['json','jsonb','text','bytea'] LOOP
  FOREACH c IN ARRAY ARRAY['pglz','lz4'] LOOP
    EXECUTE 'DROP TABLE IF EXISTS cmp_t';
    EXECUTE format('CREATE TABLE cmp_t (id int primary key, data %s COMPRESSION %s NOT NULL)', ty, c);
    IF ty = 'bytea' THEN
      EXECUTE 'INSERT INTO cmp_t SELECT g, convert_to($1, ''UTF8'') FROM generate_series(0,99) g' USING d;
    ELSE
      EXECUTE format('INSERT INTO cmp_t SELECT g, $1::%s FROM generate_series(0,99) g', ty) USING d;
    END IF;
    st := clock_timestamp();
    FOR i IN 1..2000 LOOP
      IF ty = 'bytea' THEN
        EXECUTE 'UPDATE cmp_t SET data = convert_to($1, ''UTF8'') WHERE id = $2' USING d, i % 100;
      ELSE
        EXECUTE format('UPDATE cmp_t SET data = $1::%s WHERE id = $2', ty) USING d, i % 100;
      END IF;
    END LOOP;
    RAISE NOTICE '% % write %', ty, c, clock_timestamp() - st;
    st := clock_timestamp();
    FOR i IN 1..2000 LOOP
      -- md5 reads every byte, so the value is decompressed whole.
      IF ty = 'bytea' THEN
        EXECUTE 'SELECT md5(data) FROM cmp_t WHERE id = $1' INTO t USING i % 100;
      ELSE
        EXECUTE 'SELECT md5(data::text) FROM cmp_t WHERE id = $1' INTO t USING i % 100;
      END IF;
    END LOOP;
    RAISE NOTICE '% % read %', ty, c, clock_timestamp() - st;
    RAISE NOTICE '% % size %', ty, c, (SELECT pg_column_size(data) FROM cmp_t LIMIT 1);
  END LOOP; END LOOP;
END $$;
DROP TABLE cmp_t;
DROP TABLE cmp_doc;
