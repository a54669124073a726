# bash completion for dhat-trace                            -*- shell-script -*-
# SPDX-License-Identifier: GPL-2.0-or-later
# report, diff and check: their options, then DHAT files.
_dhat_trace_files()
{
	local cur=$1 prev=$2 sub=$3 opts
	case $prev in
	-s | --sort)
		COMPREPLY=($(compgen -W "total tgmax tend blocks lifetime" -- "$cur"))
		return ;;
	-n | --top | --frames | -f | --min-bytes | --max-peak | -m | --match | --ignore-site)
		return ;;
	--ignore-file | --pprof | --folded)
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	--folded-weight)
		COMPREPLY=($(compgen -W "tend tgmax total" -- "$cur"))
		return ;;
	esac
	case $sub in
	report) opts="-n --top -s --sort --min-bytes -m --match --frames --pprof= --folded=
		--folded-weight= -h --help" ;;
	diff) opts="-n --top -f --frames -h --help" ;;
	check) opts="--fail-on-leak --fail-on-leak= --max-peak= --ignore-site= --ignore-file= -n --top -h --help" ;;
	esac
	if [[ $cur == -* ]]; then
		compopt -o nospace 2>/dev/null
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		[[ ${#COMPREPLY[@]} == 1 && ${COMPREPLY[0]} != *= ]] && compopt +o nospace 2>/dev/null
		return
	fi
	COMPREPLY=($(compgen -f -X '!*.json' -- "$cur") $(compgen -d -- "$cur"))
}

# The capture's options: those that take a value, and the others.  An
# option with an optional value (--fail-on-leak[=BYTES]) is in both.
_dhat_trace_arg_opts="-p --pid -d --duration -o --output -i --interval -t --top
	--max-frames --ring-size --max-memory --unwind --fail-on-leak= --max-peak --ignore-site
	--ignore-file --summary-json --snapshot-every --pprof --folded --folded-weight
	--metrics-file --report-format --report-file"
_dhat_trace_flag_opts="--inject --probe-at-entry --probe-only --follow-exec --fail-on-leak
	--follow-forks -q --quiet -v --verbose -h --help --usage -V --version --"

_dhat_trace_takes_value()
{
	case $1 in
	-p | --pid | -d | --duration | -o | --output | -i | --interval | -t | --top | \
	--max-frames | --ring-size | --max-memory | --unwind | --max-peak | --ignore-site | \
	--ignore-file | --summary-json | --snapshot-every | --pprof | --folded | --folded-weight | \
	--metrics-file | --report-format | --report-file)
		return 0 ;;
	esac
	return 1
}

_dhat_trace()
{
	local cur prev i w start=
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}
	# "--unwind=<TAB>": bash splits the word at "=" (COMP_WORDBREAKS).
	if [[ $cur == = ]]; then
		cur=
	elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then
		prev=${COMP_WORDS[COMP_CWORD-2]}
	fi

	if ((COMP_CWORD == 1)) && [[ $cur != -* ]]; then
		COMPREPLY=($(compgen -W "report diff check" -- "$cur") $(compgen -c -- "$cur"))
		return
	fi
	case ${COMP_WORDS[1]} in
	report | diff | check)
		_dhat_trace_files "$cur" "$prev" "${COMP_WORDS[1]}"
		return ;;
	esac

	# The first word that is neither an option nor an option's value starts
	# the command to launch (so does "--"): from there on the words are its.
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		--) start=$((i + 1)); break ;;
		=) ((i++)); continue ;;	# "--opt=VALUE", split at "="
		-*)
			[[ ${COMP_WORDS[i+1]} != = ]] && _dhat_trace_takes_value "$w" && ((i++))
			continue ;;
		esac
		start=$i
		break
	done
	if [[ -n $start ]]; then
		if declare -F _command_offset >/dev/null; then
			_command_offset "$start"
		else
			COMPREPLY=($(compgen -c -- "$cur"))
		fi
		return
	fi

	case $prev in
	-p | --pid)
		COMPREPLY=($(compgen -W "$(ls /proc | grep -E '^[0-9]+$')" -- "$cur"))
		return ;;
	-o | --output | --ignore-file | --summary-json | --pprof | --folded | --metrics-file | \
	--report-file)
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	--folded-weight)
		COMPREPLY=($(compgen -W "tend tgmax total" -- "$cur"))
		return ;;
	--report-format)
		COMPREPLY=($(compgen -W "text json" -- "$cur"))
		return ;;
	-d | --duration | -i | --interval | --snapshot-every)
		COMPREPLY=($(compgen -W "500ms 5s 10s 30s 1m 5m 0" -- "$cur"))
		return ;;
	-t | --top | --max-frames)
		COMPREPLY=($(compgen -W "5 10 20 64 127" -- "$cur"))
		return ;;
	--max-memory)
		COMPREPLY=($(compgen -W "64M 256M 1G 0" -- "$cur"))
		return ;;
	--ring-size)
		COMPREPLY=($(compgen -W "8M 16M 64M 256M" -- "$cur"))
		return ;;
	--unwind)
		COMPREPLY=($(compgen -W "auto dwarf fp" -- "$cur"))
		return ;;
	--fail-on-leak | --max-peak | --ignore-site)
		return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$_dhat_trace_arg_opts $_dhat_trace_flag_opts" -- "$cur"))
		return
	fi
	COMPREPLY=($(compgen -c -- "$cur"))
}
complete -F _dhat_trace dhat-trace
