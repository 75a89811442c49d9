#!/usr/bin/env bash
# Issue 26's experiment: does a user's file of 200 labelled claims move the scores on its
# held-out half? (docs/data.md, "A user's file, end to end".)
#
#   training/examples/user_file_experiment.sh            # about 20 minutes of CPU: one training
#   CONTROL=1 training/examples/user_file_experiment.sh  # and a second one without the file
#
# (a) the champion scored on the file's test stories; (b) the default config trained with
# the file's train stories added; (c) that model scored on the same test stories. CONTROL=1
# also trains the same config without the file, so the change the file makes is told apart
# from what else differs between the champion and a fresh run. Results go to $OUT.
#
# The file was drawn from news_natural's Wikinews openings, so the runs here turn
# news_natural off: with it on, every train row would be dropped as a copy of a held-out
# sentence. register_model=false: a model trained on evaluation sentences is never
# registered, so it can never become the champion.
set -euo pipefail

PYTHON=${PYTHON:-.venv/bin/python}
FILE=${FILE:-training/examples/user_claims_200.csv}
CONFIG=${CONFIG:-training/configs/default.yaml}
CHAMPION=${CHAMPION:-models:/claimstance@champion}
OUT=${OUT:-outputs/user_file_experiment}
# The config's seed, written out so the two runs of CONTROL=1 share it whatever the file says.
SEED=${SEED:-13}
RUN_OVERRIDES=(data.news_natural=false register_model=false "seed=$SEED")

mkdir -p "$OUT"

evaluate() { # name model
    echo "== evaluate $1 ($2) on the test stories of $FILE"
    "$PYTHON" -m training evaluate --data "$FILE" --model "$2" --json "$OUT/$1.json" |
        tee "$OUT/$1.txt"
}

train() { # name overrides...
    local name=$1
    shift
    echo "== train $name: $CONFIG $*"
    "$PYTHON" -m training train --config "$CONFIG" "$@" | tee "$OUT/train_$name.txt"
    model_dir=$(sed -n 's/^model directory //p' "$OUT/train_$name.txt")
    if [[ -z $model_dir ]]; then
        echo "error: no model directory in $OUT/train_$name.txt" >&2
        exit 1
    fi
}

evaluate champion "$CHAMPION"
train with_file "data.extra=$FILE" "${RUN_OVERRIDES[@]}"
evaluate with_file "$model_dir"
names=(champion with_file)
if [[ ${CONTROL:-0} == 1 ]]; then
    train without_file "${RUN_OVERRIDES[@]}"
    evaluate without_file "$model_dir"
    names+=(without_file)
fi

echo "== $FILE, test stories: macro-F1 (95% interval over stories), F1 by label"
"$PYTHON" - "$OUT" "${names[@]}" <<'EOF'
import json
import sys
from pathlib import Path

out = Path(sys.argv[1])
for name in sys.argv[2:]:
    record = json.loads((out / f"{name}.json").read_text(encoding="utf-8"))
    (result,) = record["sets"].values()
    low, high = result["macro_f1_interval"]
    f1 = ", ".join(f"{label} {scores['f1']:.3f}" for label, scores in result["per_label"].items())
    model = record["model"]
    print(
        f"{name:<13} n={result['support']}  macro-F1 {result['macro_f1']:.3f} "
        f"({low:.3f}-{high:.3f})  {f1}  [{model['version'] or model['uri']}]"
    )
EOF
