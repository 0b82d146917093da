/* A second C floor for the string rows: echo_string/1 that only copies the binary
 * (no UTF-8 check), to show what validation costs next to the validating C NIF in
 * bench_c.c. Loaded as Bench.CCopy; only echo_string/1 is implemented. */
#include <erl_nif.h>
#include <string.h>

static ERL_NIF_TERM echo_string(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
    ErlNifBinary bin;
    ERL_NIF_TERM out;
    (void)argc;
    if (!enif_inspect_binary(env, argv[0], &bin))
        return enif_make_badarg(env);
    unsigned char *data = enif_make_new_binary(env, bin.size, &out);
    memcpy(data, bin.data, bin.size);
    return out;
}

static ErlNifFunc funcs[] = {
    {"echo_string", 1, echo_string, 0},
};

ERL_NIF_INIT(Elixir.Bench.CCopy, funcs, NULL, NULL, NULL, NULL)
