-- One round trip per command: the whole commit (command id, version checks, events, audit line)
-- runs as one statement, hence one transaction. A version mismatch raises RS409 and undoes
-- everything, the command id included; a repeated command id returns the first record and
-- writes nothing. Two writers that pass the version check together still collide on
-- events_stream_version_key, which the adapter reports as a version conflict too.
CREATE FUNCTION roster_append(
    p_command_id uuid, p_fingerprint text, p_result jsonb, p_command_recorded_at timestamptz,
    p_streams text[], p_expected bigint[],
    p_stream_ids text[], p_versions bigint[], p_event_ids uuid[], p_event_types text[],
    p_schema_versions int[], p_payloads jsonb[], p_metadata jsonb[], p_recorded_at timestamptz[],
    p_business_dates date[],
    p_audit_recorded_at timestamptz, p_audit_actor jsonb, p_audit_command_type text,
    p_audit_target text, p_audit_outcome text, p_audit_error_code text, p_audit_detail text)
RETURNS TABLE (outcome text, first_fingerprint text, first_result jsonb,
               first_recorded_at timestamptz, last_position bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_actual bigint;
    v_last bigint;
BEGIN
    INSERT INTO commands (command_id, fingerprint, result, recorded_at)
    VALUES (p_command_id, p_fingerprint, p_result, p_command_recorded_at)
    ON CONFLICT (command_id) DO NOTHING;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'duplicate'::text, c.fingerprint, c.result, c.recorded_at, 0::bigint
                     FROM commands c WHERE c.command_id = p_command_id;
        RETURN;
    END IF;
    FOR i IN 1 .. coalesce(array_length(p_streams, 1), 0) LOOP
        SELECT coalesce(max(e.version), 0) INTO v_actual FROM events e WHERE e.stream_id = p_streams[i];
        IF v_actual <> p_expected[i] THEN
            RAISE EXCEPTION USING ERRCODE = 'RS409', MESSAGE = 'version conflict',
                DETAIL = p_expected[i]::text || '|' || v_actual::text || '|' || p_streams[i];
        END IF;
    END LOOP;
    WITH inserted AS (
        INSERT INTO events (stream_id, version, event_id, event_type, schema_version, payload,
                            metadata, recorded_at, business_date)
        SELECT r.stream_id, r.version, r.event_id, r.event_type, r.schema_version, r.payload,
               r.metadata, r.recorded_at, r.business_date
        FROM unnest(p_stream_ids, p_versions, p_event_ids, p_event_types, p_schema_versions,
                    p_payloads, p_metadata, p_recorded_at, p_business_dates)
             WITH ORDINALITY AS r(stream_id, version, event_id, event_type, schema_version,
                                  payload, metadata, recorded_at, business_date, ord)
        ORDER BY r.ord
        RETURNING global_position
    )
    SELECT coalesce(max(global_position), 0) INTO v_last FROM inserted;
    INSERT INTO audit_log (recorded_at, actor, command_id, command_type, target, outcome,
                           error_code, detail)
    VALUES (p_audit_recorded_at, p_audit_actor, p_command_id, p_audit_command_type, p_audit_target,
            p_audit_outcome, p_audit_error_code, p_audit_detail);
    RETURN QUERY SELECT 'appended'::text, NULL::text, NULL::jsonb, NULL::timestamptz, v_last;
END
$$;
