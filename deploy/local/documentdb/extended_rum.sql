-- Run by store.sh at every start (idempotent), after CREATE EXTENSION documentdb_extended_rum.
-- DocumentDB 0.108's documentdb_extended_rum declares its single-path operator family from the
-- 0.10 class file, without the range operators (strategies 25-29: @<>, @!>, @!>=, @!<, @!<=) that
-- DocumentDB 0.23 added to documentdb_rum's family with the same support functions. A range with
-- a sort on a single-field index built by that access method then failed with "operator ... is
-- not a member of opfamily ...". This adds to the extended family what the default one has.
DO $$
DECLARE r record;
BEGIN
  FOR r IN
    SELECT a.amopstrategy AS strategy, o.oprnamespace::regnamespace AS nsp, o.oprname AS name,
           o.oprleft::regtype AS lt, o.oprright::regtype AS rt
    FROM pg_amop a
    JOIN pg_opfamily f ON f.oid = a.amopfamily
    JOIN pg_am m ON m.oid = f.opfmethod
    JOIN pg_operator o ON o.oid = a.amopopr
    WHERE m.amname = 'documentdb_rum' AND f.opfname = 'bson_rum_single_path_ops'
      AND a.amoppurpose = 's'
      AND a.amopstrategy NOT IN (
        SELECT a2.amopstrategy FROM pg_amop a2
        JOIN pg_opfamily f2 ON f2.oid = a2.amopfamily
        JOIN pg_am m2 ON m2.oid = f2.opfmethod
        WHERE m2.amname = 'documentdb_extended_rum'
          AND f2.opfname = 'bson_extended_rum_single_path_ops')
  LOOP
    EXECUTE format(
      'ALTER OPERATOR FAMILY documentdb_extended_rum_catalog.bson_extended_rum_single_path_ops '
      'USING documentdb_extended_rum ADD OPERATOR %s %s.%s (%s, %s)',
      r.strategy, r.nsp, r.name, r.lt, r.rt);
  END LOOP;
END $$;
