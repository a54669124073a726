# bash completion for dhat-trace                            -*- shell-script -*-
# SPDX-License-Identifier: GPL-2.0-or-later
_dhat_trace()
{
	local cur prev i
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}

	# After "--" everything is the command to launch.
	for ((i = 1; i < COMP_CWORD; i++)); do
		if [[ ${COMP_WORDS[i]} == -- ]]; then
			if declare -F _command_offset >/dev/null; then
				_command_offset $((i + 1))
			else
				COMPREPLY=($(compgen -c -- "$cur"))
			fi
			return
		fi
	done

	case $prev in
	-p | --pid)
		COMPREPLY=($(compgen -W "$(ls /proc | grep -E '^[0-9]+$')" -- "$cur"))
		return ;;
	-o | --output)
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	-d | --duration | -i | --interval)
		COMPREPLY=($(compgen -W "500ms 5s 10s 30s 1m 5m 0" -- "$cur"))
		return ;;
	-t | --top | --max-frames)
		COMPREPLY=($(compgen -W "5 10 20 64 127" -- "$cur"))
		return ;;
	--ring-size)
		COMPREPLY=($(compgen -W "16M 64M 256M" -- "$cur"))
		return ;;
	--unwind)
		COMPREPLY=($(compgen -W "auto dwarf fp" -- "$cur"))
		return ;;
	esac
	COMPREPLY=($(compgen -W "-p --pid -d --duration -o --output -i --interval -t --top
		--max-frames --unwind --ring-size --probe-at-entry --probe-only --follow-exec
		--follow-forks -q --quiet -v --verbose -? --help --usage -V --version --" \
		-- "$cur"))
}
complete -F _dhat_trace dhat-trace
