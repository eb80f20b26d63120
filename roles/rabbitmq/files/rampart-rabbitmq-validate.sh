#!/bin/sh
# Managed by Ansible (rampart.hardening.rabbitmq).
# Checks a candidate RabbitMQ file before it replaces the live one, without the running
# broker: `conf FILE` maps a rabbitmq.conf through the cuttlefish schemas shipped with the
# installed RabbitMQ (the same translation the broker does at boot: unknown keys, bad
# values and syntax errors fail); `erlang FILE` parses advanced.config / enabled_plugins
# as Erlang terms.
set -eu
kind=${1:?usage: rampart-rabbitmq-validate conf|erlang FILE}
file=${2:?usage: rampart-rabbitmq-validate conf|erlang FILE}
base=$(printf '%s\n' /usr/lib/rabbitmq/lib/rabbitmq_server-* | sort -V | tail -n 1)
case "$kind" in
  conf)
    exec erl -noshell -noinput -boot start_clean -pa "$base"/plugins/*/ebin -eval '
      [File, Base] = init:get_plain_arguments(),
      Schemas = filelib:wildcard(Base ++ "/plugins/*/priv/schema/*.schema"),
      Schema = cuttlefish_schema:files(Schemas),
      Result = case cuttlefish_conf:file(File) of
        {errorlist, Errors} -> {error, Errors};
        Conf ->
          case cuttlefish_generator:map(Schema, Conf) of
            {error, Phase, {errorlist, Errors}} -> {error, {Phase, Errors}};
            _Config -> ok
          end
      end,
      case Result of
        ok -> halt(0);
        {error, Why} -> io:format(standard_error, "~s: invalid: ~p~n", [File, Why]), halt(1)
      end.' -extra "$file" "$base"
    ;;
  erlang)
    exec erl -noshell -noinput -boot start_clean -eval '
      [File] = init:get_plain_arguments(),
      case file:consult(File) of
        {ok, [_]} -> halt(0);
        {ok, Terms} -> io:format(standard_error, "~s: expected one term, found ~p~n", [File, length(Terms)]), halt(1);
        {error, Why} -> io:format(standard_error, "~s: ~s~n", [File, file:format_error(Why)]), halt(1)
      end.' -extra "$file"
    ;;
  *)
    echo "usage: rampart-rabbitmq-validate conf|erlang FILE" >&2
    exit 2
    ;;
esac
