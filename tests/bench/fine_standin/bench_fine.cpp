// A STAND-IN for Fine (elixir-nx/fine, the C++ NIF library), NOT Fine itself: Fine is
// fetched from hex.pm or GitHub, neither reachable where this benchmark was written.
//
// It makes the calls Fine 0.1.x makes for these types, in the same order, as read from
// Fine's `fine.hpp` (its code is not copied here):
// - a NIF is a plain C++ function taking decoded arguments by value; a wrapper decodes
//   each argument, calls it, encodes the result, inside a `try` that turns
//   `std::invalid_argument` into an `ArgumentError` (any other exception into a
//   `RuntimeError`);
// - `int64_t`: `enif_get_int64` / `enif_make_int64` (no inline small-integer path);
// - `std::string`: `enif_inspect_binary`, then a copy into the string (no UTF-8 check;
//   strings of up to 15 bytes fit in the string itself, without a heap block); encoded
//   with `enif_make_new_binary` + `memcpy`;
// - `std::vector<T>`: `enif_get_list_length`, `reserve`, then `enif_get_list_cell` per
//   element; encoded through a `std::vector<ERL_NIF_TERM>` (reserved) and one
//   `enif_make_list_from_array`;
// - `std::unordered_map<K, V>`: a map iterator, each key and value decoded and
//   `insert_or_assign`ed (no `reserve`); encoded through two reserved
//   `std::vector<ERL_NIF_TERM>` and one `enif_make_map_from_arrays`.
// Built as Fine's example Makefile builds (`-std=c++17 -O3 -fvisibility=hidden`).
// Loaded as Bench.FineStandIn; implements the string, list and map rows only.
#include <erl_nif.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace standin {

template <typename T> struct Codec;

template <typename T> T decode(ErlNifEnv *env, ERL_NIF_TERM term) {
  return Codec<T>::decode(env, term);
}

template <typename T> ERL_NIF_TERM encode(ErlNifEnv *env, const T &value) {
  return Codec<T>::encode(env, value);
}

template <> struct Codec<int64_t> {
  static int64_t decode(ErlNifEnv *env, ERL_NIF_TERM term) {
    ErlNifSInt64 value;
    if (!enif_get_int64(env, term, &value))
      throw std::invalid_argument("decode failed, expected an integer");
    return value;
  }
  static ERL_NIF_TERM encode(ErlNifEnv *env, const int64_t &value) {
    return enif_make_int64(env, value);
  }
};

template <> struct Codec<std::string> {
  static std::string decode(ErlNifEnv *env, ERL_NIF_TERM term) {
    ErlNifBinary bin;
    if (!enif_inspect_binary(env, term, &bin))
      throw std::invalid_argument("decode failed, expected a binary");
    return std::string(std::string_view(reinterpret_cast<const char *>(bin.data), bin.size));
  }
  static ERL_NIF_TERM encode(ErlNifEnv *env, const std::string &value) {
    ERL_NIF_TERM term;
    unsigned char *data = enif_make_new_binary(env, value.size(), &term);
    if (data == nullptr)
      throw std::runtime_error("encode failed, failed to allocate new binary");
    std::memcpy(data, value.data(), value.size());
    return term;
  }
};

template <typename T> struct Codec<std::vector<T>> {
  static std::vector<T> decode(ErlNifEnv *env, ERL_NIF_TERM term) {
    unsigned length;
    if (!enif_get_list_length(env, term, &length))
      throw std::invalid_argument("decode failed, expected a list");
    std::vector<T> out;
    out.reserve(length);
    ERL_NIF_TERM head, tail, list = term;
    while (enif_get_list_cell(env, list, &head, &tail)) {
      out.emplace_back(standin::decode<T>(env, head));
      list = tail;
    }
    return out;
  }
  static ERL_NIF_TERM encode(ErlNifEnv *env, const std::vector<T> &items) {
    std::vector<ERL_NIF_TERM> terms;
    terms.reserve(items.size());
    for (const auto &item : items)
      terms.push_back(standin::encode(env, item));
    return enif_make_list_from_array(env, terms.data(), static_cast<unsigned>(terms.size()));
  }
};

template <typename K, typename V> struct Codec<std::unordered_map<K, V>> {
  struct IteratorGuard {
    ErlNifEnv *env;
    ErlNifMapIterator *iter;
    ~IteratorGuard() { enif_map_iterator_destroy(env, iter); }
  };

  static std::unordered_map<K, V> decode(ErlNifEnv *env, ERL_NIF_TERM term) {
    std::unordered_map<K, V> out;
    ErlNifMapIterator iter;
    if (!enif_map_iterator_create(env, term, &iter, ERL_NIF_MAP_ITERATOR_FIRST))
      throw std::invalid_argument("decode failed, expected a map");
    IteratorGuard guard{env, &iter};
    ERL_NIF_TERM key, value;
    while (enif_map_iterator_get_pair(env, &iter, &key, &value)) {
      K k = standin::decode<K>(env, key);
      V v = standin::decode<V>(env, value);
      out.insert_or_assign(std::move(k), std::move(v));
      enif_map_iterator_next(env, &iter);
    }
    return out;
  }

  static ERL_NIF_TERM encode(ErlNifEnv *env, const std::unordered_map<K, V> &map) {
    std::vector<ERL_NIF_TERM> keys, values;
    keys.reserve(map.size());
    values.reserve(map.size());
    for (const auto &[k, v] : map) {
      keys.emplace_back(standin::encode(env, k));
      values.emplace_back(standin::encode(env, v));
    }
    ERL_NIF_TERM out;
    if (!enif_make_map_from_arrays(env, keys.data(), values.data(), keys.size(), &out))
      throw std::runtime_error("encode failed, failed to make a map");
    return out;
  }
};

// Raises an exception struct %{__struct__: module, __exception__: true, message: ...}.
ERL_NIF_TERM raise_with_message(ErlNifEnv *env, const char *module, const char *message) {
  ERL_NIF_TERM keys[3] = {enif_make_atom(env, "__struct__"), enif_make_atom(env, "__exception__"),
                          enif_make_atom(env, "message")};
  ERL_NIF_TERM values[3] = {enif_make_atom(env, module), enif_make_atom(env, "true"),
                            standin::encode(env, std::string(message))};
  ERL_NIF_TERM map;
  if (!enif_make_map_from_arrays(env, keys, values, 3, &map))
    return enif_raise_exception(env, values[2]);
  return enif_raise_exception(env, map);
}

// The wrapper of every NIF: decode the arguments, call, encode, exceptions to raises.
template <typename Return, typename... Args, std::size_t... I>
ERL_NIF_TERM call(ErlNifEnv *env, const ERL_NIF_TERM argv[], Return (*fun)(ErlNifEnv *, Args...),
                  std::index_sequence<I...>) {
  try {
    Return result = fun(env, standin::decode<Args>(env, argv[I])...);
    return standin::encode(env, result);
  } catch (const std::invalid_argument &error) {
    return raise_with_message(env, "Elixir.ArgumentError", error.what());
  } catch (const std::runtime_error &error) {
    return raise_with_message(env, "Elixir.RuntimeError", error.what());
  } catch (...) {
    return raise_with_message(env, "Elixir.RuntimeError", "unknown exception thrown within NIF");
  }
}

template <typename Return, typename... Args>
ERL_NIF_TERM nif(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[],
                 Return (*fun)(ErlNifEnv *, Args...)) {
  if (argc != static_cast<int>(sizeof...(Args)))
    return enif_make_badarg(env);
  return call(env, argv, fun, std::index_sequence_for<Args...>());
}

} // namespace standin

// --- The NIFs, as a Fine user writes them ---------------------------------------

static std::string echo_string(ErlNifEnv *, std::string s) { return s; }

static int64_t sum_list(ErlNifEnv *, std::vector<int64_t> xs) {
  int64_t sum = 0;
  for (int64_t x : xs)
    sum += x;
  return sum;
}

static std::vector<int64_t> make_list(ErlNifEnv *, int64_t n) {
  std::vector<int64_t> out;
  out.reserve(n > 0 ? static_cast<size_t>(n) : 0);
  for (int64_t i = 0; i < n; i++)
    out.push_back(i);
  return out;
}

static int64_t map_sum(ErlNifEnv *, std::unordered_map<std::string, int64_t> map) {
  int64_t sum = 0;
  for (const auto &[key, value] : map)
    sum += value;
  return sum;
}

static std::unordered_map<std::string, int64_t> make_map(ErlNifEnv *, int64_t n) {
  std::unordered_map<std::string, int64_t> out;
  out.reserve(n > 0 ? static_cast<size_t>(n) : 0);
  for (int64_t i = 0; i < n; i++)
    out.emplace("k" + std::to_string(i), i);
  return out;
}

#define STANDIN_NIF(name)                                                                          \
  static ERL_NIF_TERM name##_nif(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {           \
    return standin::nif(env, argc, argv, name);                                                    \
  }

STANDIN_NIF(echo_string)
STANDIN_NIF(sum_list)
STANDIN_NIF(make_list)
STANDIN_NIF(map_sum)
STANDIN_NIF(make_map)

static ErlNifFunc funcs[] = {
    {"echo_string", 1, echo_string_nif, 0}, {"sum_list", 1, sum_list_nif, 0},
    {"make_list", 1, make_list_nif, 0},     {"map_sum", 1, map_sum_nif, 0},
    {"make_map", 1, make_map_nif, 0},
};

ERL_NIF_INIT(Elixir.Bench.FineStandIn, funcs, NULL, NULL, NULL, NULL)
