#!/bin/sh
# replay: cd to this folder, then sh run.sh
/work/wt-fuzz/.build/debug/triage 'score' './model.model' './base.csv' '--output' './out.csv'
