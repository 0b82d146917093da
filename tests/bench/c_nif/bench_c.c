/* The floor: the benchmark NIFs written by hand in C, the way a careful C author
 * would (no per-call allocation beyond what the result needs). */
#include <erl_nif.h>
#include <stdint.h>
#include <string.h>

static ERL_NIF_TERM atom_ok;
/* The derive rows' atoms, made once at load as a C author would. */
static ERL_NIF_TERM atom_struct, atom_point4, atom_x, atom_y, atom_z, atom_w;
static ERL_NIF_TERM atom_rec, atom_true, atom_false;
static ERL_NIF_TERM atom_idle, atom_done, atom_count, atom_ratio;

static int load(ErlNifEnv *env, void **priv, ERL_NIF_TERM info) {
    (void)priv; (void)info;
    atom_ok = enif_make_atom(env, "ok");
    atom_struct = enif_make_atom(env, "__struct__");
    atom_point4 = enif_make_atom(env, "Elixir.Bench.Point4");
    atom_x = enif_make_atom(env, "x");
    atom_y = enif_make_atom(env, "y");
    atom_z = enif_make_atom(env, "z");
    atom_w = enif_make_atom(env, "w");
    atom_rec = enif_make_atom(env, "rec");
    atom_true = enif_make_atom(env, "true");
    atom_false = enif_make_atom(env, "false");
    atom_idle = enif_make_atom(env, "idle");
    atom_done = enif_make_atom(env, "done");
    atom_count = enif_make_atom(env, "count");
    atom_ratio = enif_make_atom(env, "ratio");
    return 0;
}

static ERL_NIF_TERM noop(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
    (void)env; (void)argc; (void)argv;
    return atom_ok;
}

static ERL_NIF_TERM add(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
    ErlNifSInt64 a, b;
    (void)argc;
    if (!enif_get_int64(env, argv[0], &a) || !enif_get_int64(env, argv[1], &b))
        return enif_make_badarg(env);
    return enif_make_int64(env, a + b);
}

static ERL_NIF_TERM tuple_swap(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
    int arity;
    const ERL_NIF_TERM *elems;
    (void)argc;
    if (!enif_get_tuple(env, argv[0], &arity, &elems) || arity != 2)
        return enif_make_badarg(env);
    return enif_make_tuple2(env, elems[1], elems[0]);
}

static ERL_NIF_TERM bin_len(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
    ErlNifBinary bin;
    (void)argc;
    if (!enif_inspect_binary(env, argv[0], &bin))
        return enif_make_badarg(env);
    return enif_make_uint64(env, bin.size);
}

/* Strict UTF-8 validation (no overlongs, no surrogates, nothing above U+10FFFF), as
 * Rust's str checks: ASCII eight bytes at a time, then byte by byte. */
static int valid_utf8(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        if (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (!(w & 0x8080808080808080ULL)) { i += 8; continue; }
        }
        unsigned char c = s[i];
        if (c < 0x80) { i++; continue; }
        if (c >= 0xC2 && c <= 0xDF) {
            if (i + 1 >= n || (s[i + 1] & 0xC0) != 0x80) return 0;
            i += 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            if (i + 2 >= n) return 0;
            unsigned char c1 = s[i + 1];
            if ((c1 & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80) return 0;
            if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F)) return 0;
            i += 3;
        } else if (c >= 0xF0 && c <= 0xF4) {
            if (i + 3 >= n) return 0;
            unsigned char c1 = s[i + 1];
            if ((c1 & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80 || (s[i + 3] & 0xC0) != 0x80)
                return 0;
            if ((c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 > 0x8F)) return 0;
            i += 4;
        } else {
            return 0;
        }
    }
    return 1;
}

static ERL_NIF_TERM echo_string(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
    ErlNifBinary bin;
    ERL_NIF_TERM out;
    (void)argc;
    if (!enif_inspect_binary(env, argv[0], &bin) || !valid_utf8(bin.data, bin.size))
        return enif_make_badarg(env);
    unsigned char *data = enif_make_new_binary(env, bin.size, &out);
    memcpy(data, bin.data, bin.size);
    return out;
}

static ERL_NIF_TERM sum_list(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
    ERL_NIF_TERM list = argv[0], head, tail;
    ErlNifSInt64 sum = 0, x;
    (void)argc;
    while (enif_get_list_cell(env, list, &head, &tail)) {
        if (!enif_get_int64(env, head, &x))
            return enif_make_badarg(env);
        sum += x;
        list = tail;
    }
    if (!enif_is_empty_list(env, list))
        return enif_make_badarg(env);
    return enif_make_int64(env, sum);
}

static ERL_NIF_TERM make_list(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
    ErlNifSInt64 n;
    (void)argc;
    if (!enif_get_int64(env, argv[0], &n) || n < 0)
        return enif_make_badarg(env);
    ERL_NIF_TERM stack[256];
    ERL_NIF_TERM *terms = n <= 256 ? stack : enif_alloc(sizeof(ERL_NIF_TERM) * n);
    for (ErlNifSInt64 i = 0; i < n; i++)
        terms[i] = enif_make_int64(env, i);
    ERL_NIF_TERM list = enif_make_list_from_array(env, terms, (unsigned)n);
    if (terms != stack)
        enif_free(terms);
    return list;
}

static ERL_NIF_TERM map_sum(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
    ErlNifMapIterator iter;
    ERL_NIF_TERM key, value;
    ErlNifSInt64 sum = 0, x;
    ErlNifBinary bin;
    (void)argc;
    if (!enif_map_iterator_create(env, argv[0], &iter, ERL_NIF_MAP_ITERATOR_FIRST))
        return enif_make_badarg(env);
    while (enif_map_iterator_get_pair(env, &iter, &key, &value)) {
        if (!enif_inspect_binary(env, key, &bin) || !enif_get_int64(env, value, &x)) {
            enif_map_iterator_destroy(env, &iter);
            return enif_make_badarg(env);
        }
        sum += x;
        enif_map_iterator_next(env, &iter);
    }
    enif_map_iterator_destroy(env, &iter);
    return enif_make_int64(env, sum);
}

/* "k" followed by the decimal digits of i (i >= 0), into buf; returns the length. */
static size_t key_name(char *buf, ErlNifSInt64 i) {
    char digits[20];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + i % 10);
        i /= 10;
    } while (i > 0);
    buf[0] = 'k';
    for (size_t k = 0; k < n; k++)
        buf[1 + k] = digits[n - 1 - k];
    return n + 1;
}

static ERL_NIF_TERM make_map(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
    ErlNifSInt64 n;
    ERL_NIF_TERM map;
    char buf[32];
    (void)argc;
    if (!enif_get_int64(env, argv[0], &n) || n < 0)
        return enif_make_badarg(env);
    ERL_NIF_TERM stack_keys[256], stack_values[256];
    ERL_NIF_TERM *keys = n <= 256 ? stack_keys : enif_alloc(sizeof(ERL_NIF_TERM) * n);
    ERL_NIF_TERM *values = n <= 256 ? stack_values : enif_alloc(sizeof(ERL_NIF_TERM) * n);
    for (ErlNifSInt64 i = 0; i < n; i++) {
        size_t len = key_name(buf, i);
        unsigned char *data = enif_make_new_binary(env, len, &keys[i]);
        memcpy(data, buf, len);
        values[i] = enif_make_int64(env, i);
    }
    int ok = enif_make_map_from_arrays(env, keys, values, (size_t)n, &map);
    if (keys != stack_keys) {
        enif_free(keys);
        enif_free(values);
    }
    return ok ? map : enif_make_badarg(env);
}

/* --- Derived types, by hand ---------------------------------------------------- */

/* %Bench.Point4{x, y, z, w}, all floats: __struct__ checked, fields found with
 * enif_get_map_value (extra keys ignored), as the derives decode. */
static int get_point4(ErlNifEnv *env, ERL_NIF_TERM term, double out[4]) {
    ERL_NIF_TERM value;
    if (!enif_get_map_value(env, term, atom_struct, &value) || value != atom_point4)
        return 0;
    if (!enif_get_map_value(env, term, atom_x, &value) || !enif_get_double(env, value, &out[0]))
        return 0;
    if (!enif_get_map_value(env, term, atom_y, &value) || !enif_get_double(env, value, &out[1]))
        return 0;
    if (!enif_get_map_value(env, term, atom_z, &value) || !enif_get_double(env, value, &out[2]))
        return 0;
    if (!enif_get_map_value(env, term, atom_w, &value) || !enif_get_double(env, value, &out[3]))
        return 0;
    return 1;
}

static ERL_NIF_TERM make_point4(ErlNifEnv *env, const double p[4]) {
    ERL_NIF_TERM keys[5] = {atom_struct, atom_x, atom_y, atom_z, atom_w};
    ERL_NIF_TERM values[5] = {atom_point4, enif_make_double(env, p[0]), enif_make_double(env, p[1]),
                              enif_make_double(env, p[2]), enif_make_double(env, p[3])};
    ERL_NIF_TERM map;
    if (!enif_make_map_from_arrays(env, keys, values, 5, &map))
        return enif_make_badarg(env);
    return map;
}

/* Decode only: x + y + z + w. */
static ERL_NIF_TERM point_sum(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
    double p[4];
    (void)argc;
    if (!get_point4(env, argv[0], p))
        return enif_make_badarg(env);
    return enif_make_double(env, p[0] + p[1] + p[2] + p[3]);
}

/* Encode only: %Bench.Point4{x: f, y: f + 1, z: f + 2, w: f + 3}. */
static ERL_NIF_TERM point_new(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
    double f;
    (void)argc;
    if (!enif_get_double(env, argv[0], &f))
        return enif_make_badarg(env);
    double p[4] = {f, f + 1.0, f + 2.0, f + 3.0};
    return make_point4(env, p);
}

/* Both: the point with x + 1. */
static ERL_NIF_TERM point_bump(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
    double p[4];
    (void)argc;
    if (!get_point4(env, argv[0], p))
        return enif_make_badarg(env);
    p[0] += 1.0;
    return make_point4(env, p);
}

/* {:rec, a :: integer, b :: float, c :: boolean} -> {:rec, a + 1, b * 2, not c}. */
static ERL_NIF_TERM rec_bump(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
    int arity;
    const ERL_NIF_TERM *elems;
    ErlNifSInt64 a;
    double b;
    (void)argc;
    if (!enif_get_tuple(env, argv[0], &arity, &elems) || arity != 4 || elems[0] != atom_rec ||
        !enif_get_int64(env, elems[1], &a) || !enif_get_double(env, elems[2], &b) ||
        (elems[3] != atom_true && elems[3] != atom_false))
        return enif_make_badarg(env);
    return enif_make_tuple4(env, atom_rec, enif_make_int64(env, a + 1), enif_make_double(env, b * 2.0),
                            elems[3] == atom_true ? atom_false : atom_true);
}

/* :idle | :done | {:count, integer} | {:ratio, float}; one step:
 * :idle -> {:count, 0}, {:count, n} -> {:count, n + 1}, {:ratio, r} -> {:ratio, r / 2},
 * :done -> :done. */
static ERL_NIF_TERM state_step(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
    ERL_NIF_TERM term = argv[0];
    int arity;
    const ERL_NIF_TERM *elems;
    (void)argc;
    if (term == atom_idle)
        return enif_make_tuple2(env, atom_count, enif_make_int64(env, 0));
    if (term == atom_done)
        return atom_done;
    if (enif_get_tuple(env, term, &arity, &elems) && arity == 2) {
        if (elems[0] == atom_count) {
            ErlNifSInt64 n;
            if (!enif_get_int64(env, elems[1], &n))
                return enif_make_badarg(env);
            return enif_make_tuple2(env, atom_count, enif_make_int64(env, n + 1));
        }
        if (elems[0] == atom_ratio) {
            double r;
            if (!enif_get_double(env, elems[1], &r))
                return enif_make_badarg(env);
            return enif_make_tuple2(env, atom_ratio, enif_make_double(env, r / 2.0));
        }
    }
    return enif_make_badarg(env);
}

static ErlNifFunc funcs[] = {
    {"noop", 0, noop, 0},
    {"add", 2, add, 0},
    {"tuple_swap", 1, tuple_swap, 0},
    {"bin_len", 1, bin_len, 0},
    {"echo_string", 1, echo_string, 0},
    {"sum_list", 1, sum_list, 0},
    {"make_list", 1, make_list, 0},
    {"map_sum", 1, map_sum, 0},
    {"make_map", 1, make_map, 0},
    {"point_sum", 1, point_sum, 0},
    {"point_new", 1, point_new, 0},
    {"point_bump", 1, point_bump, 0},
    {"rec_bump", 1, rec_bump, 0},
    {"state_step", 1, state_step, 0},
};

ERL_NIF_INIT(Elixir.Bench.C, funcs, load, NULL, NULL, NULL)
