# shellcheck shell=bash
# Shared by the scripts of action.yml's run steps (sourced, not run). Inputs arrive in env
# variables only: a value is data, never shell code.

# split_words ARRAY VALUE: sets ARRAY to the items of a list input separated by spaces,
# commas or newlines (images, node images, versions).
split_words() {
  local -n _words=$1
  local -a _items
  local _item
  IFS=$', \t\n' read -r -d '' -a _items <<<"$2" || true
  _words=()
  for _item in "${_items[@]}"; do
    [[ -z "$_item" ]] || _words+=("$_item")
  done
}

# split_lines ARRAY VALUE: sets ARRAY to the non-empty lines of a one-item-per-line input
# (paths may hold spaces, --set values commas), trimmed.
split_lines() {
  local -n _lines=$1
  local _line
  _lines=()
  while IFS= read -r _line; do
    _line=${_line#"${_line%%[![:space:]]*}"}
    _line=${_line%"${_line##*[![:space:]]}"}
    [[ -z "$_line" ]] || _lines+=("$_line")
  done <<<"$2"
}

# set_output NAME VALUE: a step output, in the multi-line form so any value is safe.
set_output() {
  local delim="satoken_$RANDOM$RANDOM"
  printf '%s<<%s\n%s\n%s\n' "$1" "$delim" "$2" "$delim" >>"$GITHUB_OUTPUT"
}

# fail MESSAGE: an error annotation naming the input, and exit 1 (bad input is a harness
# error, never a verdict).
fail() {
  echo "::error title=satoken action::$1" >&2
  exit 1
}

# boolean INPUT VALUE: refuses a value other than true or false.
boolean() {
  [[ "$2" == true || "$2" == false ]] || fail "$1: \"$2\" is neither true nor false"
}

# outcome CODE: the name of satoken's exit code (docs/how-it-works.md "Three outcomes").
outcome() {
  case "$1" in
    0) echo passed ;;
    3) echo broken ;;
    4) echo not-judged ;;
    *) echo harness-error ;;
  esac
}

# worst A B: the exit code that wins when two runs end differently: 1 (or any code that is
# not an outcome) over 3 over 4 over 0.
worst() {
  local rank_a rank_b
  rank_a=$(rank "$1")
  rank_b=$(rank "$2")
  if ((rank_a >= rank_b)); then echo "$1"; else echo "$2"; fi
}

rank() {
  case "$1" in
    0) echo 0 ;;
    4) echo 1 ;;
    3) echo 2 ;;
    *) echo 3 ;;
  esac
}
