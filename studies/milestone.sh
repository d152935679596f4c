#!/usr/bin/env bash
# Keep a long study's finished runs across machines: `save` copies what a resume and the reports
# need from OUT (default runs/study) into RECORD (a folder to commit): each folder's settings, start
# evaluation and pilot decision, pre-trained start generators below OUT's top level (the x4 one is
# committed already), and of every finished run (train_time.json written) its results, timing,
# config, validation records (each names the machine it ran on) and its TensorBoard events of the
# validation scalars (val/*, all the reports read: the per-step training scalars and the sample
# images would make a run's record megabytes); not checkpoints or generators. `restore` copies
# RECORD back into OUT, where the study's command then skips those runs and resumes the rest.
#   bash studies/milestone.sh save|restore RECORD [OUT]
set -euo pipefail
verb=${1:?save or restore}; record=$(realpath -m "${2:?the record folder}"); out=${3:-runs/study}
validation_events() {  # SOURCE DEST ...: each events file's val/* scalars, written to a temporary name then renamed
  TF_CPP_MIN_LOG_LEVEL=3 "${PYTHON:-python}" - "$@" <<'PY'
import os, sys
import tensorflow as tf
for source, dest in zip(sys.argv[1::2], sys.argv[2::2]):
    with tf.io.TFRecordWriter(dest + ".tmp") as writer:
        for record in tf.data.TFRecordDataset(source):
            values = tf.compat.v1.Event.FromString(record.numpy()).summary.value
            if all(v.tag.startswith("val/") and v.metadata.plugin_data.plugin_name == "scalars" for v in values):
                writer.write(record.numpy())  # (an event without values, such as the file's header, too)
    os.replace(dest + ".tmp", dest)
PY
}
case "$verb" in
  save)
    mkdir -p "$record" && cd "$out"
    finished=$(find . -path '*/runs/*/train_time.json' -type f -exec dirname {} \; | sort)
    {
      find . \( -name settings.json -o -name pilot.json -o -path '*/start_eval/*.json' \) -type f
      find . -path './*/pretrain_*/generator_0.keras' -not -path '*/best/*' -type f  # a pre-trained start (not the copied x4 one)
      while read -r run; do
        [ -z "$run" ] || find "$run" -maxdepth 1 \( -name results.json -o -name train_time.json \
          -o -name config.json -o -name validation.jsonl \) -type f
      done <<< "$finished"
    } | sort -u | while read -r f; do mkdir -p "$record/$(dirname "$f")" && cp -p "$f" "$record/$f"; done
    pairs=()  # the events files not in RECORD yet, and where they go there: one Python for all
    while read -r run; do
      for events in "$run"/tensorboard/events.*; do
        [ -n "$run" ] && [ -e "$events" ] && [ ! -e "$record/$events" ] || continue
        mkdir -p "$record/$(dirname "$events")" && pairs+=("$events" "$record/$events")
      done
    done <<< "$finished"
    [ ${#pairs[@]} -eq 0 ] || validation_events "${pairs[@]}"
    echo "saved $(echo "$finished" | grep -c .) finished runs of $out into $record ($(du -sh "$record" | cut -f1))"
    ;;
  restore)
    mkdir -p "$out" && cp -rpn "$record/." "$out/"
    echo "restored $(find "$record" -path '*/runs/*/train_time.json' | wc -l) finished runs into $out"
    ;;
  *) echo "usage: bash studies/milestone.sh save|restore RECORD [OUT]" >&2; exit 2 ;;
esac
