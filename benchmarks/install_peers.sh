#!/usr/bin/env bash
# The peer libraries bench_stats.py compares with, each in its own virtualenv (their pins conflict with ours and
# with each other): NannyML and Evidently need pandas < 3 (NannyML also imports statsmodels without declaring it);
# Alibi Detect pins numpy < 2, with which only pyarrow 19 imports. river's ADWIN is bench_adwin.py's oracle.
#
#   bash benchmarks/install_peers.sh [DIR]    # default .peers/; then: python benchmarks/bench_stats.py --peers DIR
set -euo pipefail
dir=${1:-.peers}
mkdir -p "$dir"
python3 -m venv "$dir/nannyml" && "$dir/nannyml/bin/pip" install -q "nannyml==0.13.1" statsmodels "pandas<3"
python3 -m venv "$dir/evidently" && "$dir/evidently/bin/pip" install -q "evidently==0.7.23" "pandas<3"
python3 -m venv "$dir/alibi" && "$dir/alibi/bin/pip" install -q "alibi-detect==0.13.0" "pyarrow==19.*"
python3 -m venv "$dir/river" && "$dir/river/bin/pip" install -q "river==0.26.1"
