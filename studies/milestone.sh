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
validation_events() {  # SOURCE DEST: the events file's val/* scalars only, written to a temporary name then renamed
  TF_CPP_MIN_LOG_LEVEL=3 "${PYTHON:-python}" - "$1" "$2" <<'PY'
import os, sys
import tensorflow as tf
source, dest = sys.argv[1:]
with tf.io.TFRecordWriter(dest + ".tmp") as writer:
    for record in tf.data.TFRecordDataset(source):
        event = tf.compat.v1.Event.FromString(record.numpy())
        values = event.summary.value
        if not values or all(v.tag.startswith("val/") and v.metadata.plugin_data.plugin_name == "scalars" for v in values):
            writer.write(record.numpy())
os.replace(dest + ".tmp", dest)
PY
}
case "$verb" in
  save)
    cd "$out"
    {
      find . \( -name settings.json -o -name pilot.json -o -path '*/start_eval/*.json' \) -type f
      find . -path './*/pretrain_*/generator_0.keras' -type f  # a pre-trained start (not the copied x4 one)
      find . -path '*/runs/*/train_time.json' -type f | while read -r done_; do
        run=$(dirname "$done_")
        find "$run" -maxdepth 1 \( -name results.json -o -name train_time.json -o -name config.json \
          -o -name validation.jsonl \) -type f
      done
    } | sort -u | while read -r f; do mkdir -p "$record/$(dirname "$f")" && cp -p "$f" "$record/$f"; done
    find . -path '*/runs/*/train_time.json' -type f | while read -r done_; do
      for events in "$(dirname "$done_")"/tensorboard/events.*; do
        [ -e "$events" ] && [ ! -e "$record/$events" ] || continue
        { mkdir -p "$record/$(dirname "$events")" && validation_events "$events" "$record/$events"; }
      done
    done
    echo "saved $(find . -path '*/runs/*/train_time.json' | wc -l) finished runs of $out into $record ($(du -sh "$record" | cut -f1))"
    ;;
  restore)
    mkdir -p "$out" && cp -rpn "$record/." "$out/"
    echo "restored $(find "$record" -path '*/runs/*/train_time.json' | wc -l) finished runs into $out"
    ;;
  *) echo "usage: bash studies/milestone.sh save|restore RECORD [OUT]" >&2; exit 2 ;;
esac
