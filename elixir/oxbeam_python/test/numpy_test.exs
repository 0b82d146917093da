defmodule Oxbeam.Python.NumpyTest do
  # Paired with python-bridge/src/numpy.rs: numpy arrays as %Oxbeam.Python.Array{},
  # with the numpy wheel from PyPI (the test environment's pyproject).
  use ExUnit.Case, async: false
  import Oxbeam.Test.Eventually
  alias Oxbeam.Python, as: Py
  alias Oxbeam.Python.{Array, NIF}

  @moduletag timeout: 120_000

  setup_all do
    Oxbeam.Test.PythonEnv.init!()
  end

  defp run(code, globals \\ %{}), do: code |> Py.eval(globals) |> elem(0) |> Py.decode()

  @dtypes [
    {"float16", {:f, 16}},
    {"float32", {:f, 32}},
    {"float64", {:f, 64}},
    {"int8", {:s, 8}},
    {"int16", {:s, 16}},
    {"int32", {:s, 32}},
    {"int64", {:s, 64}},
    {"uint8", {:u, 8}},
    {"uint16", {:u, 16}},
    {"uint32", {:u, 32}},
    {"uint64", {:u, 64}},
    {"complex64", {:c, 64}},
    {"complex128", {:c, 128}},
    {"bool", :bool},
    {">f8", {:numpy, ">f8"}},
    {"<U3", {:numpy, "<U3"}},
    {"datetime64[s]", {:numpy, "<M8[s]"}}
  ]

  test "every dtype decodes to its bytes, Nx's dtype and the shape, and encodes back equal" do
    for {numpy_dtype, dtype} <- @dtypes do
      {array, _} =
        Py.eval(
          "import numpy\nnumpy.arange(6).astype(#{inspect(numpy_dtype)}).reshape(2, 3)",
          %{}
        )

      decoded = Py.decode(array)
      assert %Array{dtype: ^dtype, shape: {2, 3}} = decoded, numpy_dtype
      assert decoded.data == run("a.tobytes()", %{"a" => array}), numpy_dtype

      assert run(
               "import numpy\n(numpy.array_equal(a, b), a.dtype == b.dtype, b.shape)",
               %{"a" => array, "b" => decoded}
             ) == {true, true, {2, 3}},
             numpy_dtype
    end
  end

  test "float64 data is native-endian floats (what Nx.from_binary/3 reads)" do
    assert %Array{data: data, dtype: {:f, 64}, shape: {3}} =
             run("import numpy\nnumpy.array([1.5, -2.0, 3.25])")

    assert for(<<x::float-native-64 <- data>>, do: x) == [1.5, -2.0, 3.25]
  end

  test "0-d and empty arrays" do
    assert %Array{data: <<7::native-64>>, dtype: {:s, 64}, shape: {}} =
             run("import numpy\nnumpy.array(7, dtype='int64')")

    assert %Array{data: "", dtype: {:f, 32}, shape: {0, 4}} =
             run("import numpy\nnumpy.zeros((0, 4), dtype='float32')")

    assert run("import numpy\nb.shape == () and b.item() == 7", %{
             "b" => %Array{data: <<7::native-64>>, dtype: {:s, 64}, shape: {}}
           })

    assert run("(b.shape, str(b.dtype))", %{
             "b" => %Array{data: "", dtype: {:f, 32}, shape: {0, 4}}
           }) == {{0, 4}, "float32"}
  end

  test "a non-contiguous or Fortran-order array decodes to its elements in C order" do
    {_, %{"a" => a}} = Py.eval("import numpy\na = numpy.arange(6, dtype='u1').reshape(2, 3)", %{})

    assert %Array{data: <<0, 3, 1, 4, 2, 5>>, shape: {3, 2}} = run("a.T", %{"a" => a})

    assert %Array{data: <<0, 1, 2, 3, 4, 5>>, shape: {2, 3}} =
             run("import numpy\nnumpy.asfortranarray(a)", %{"a" => a})

    assert %Array{data: <<0, 2, 3, 5>>, shape: {2, 2}} = run("a[:, ::2]", %{"a" => a})
  end

  test "an ndarray subclass decodes to its data, also one exporting other memory (__buffer__, 3.12+)" do
    # Before 3.12 __buffer__ is an ordinary method; from 3.12 on it replaces the buffer.
    {object, _} =
      Py.eval(
        """
        import numpy
        backing = bytearray(800_000)
        class Sub(numpy.ndarray):
            def __buffer__(self, flags):
                return memoryview(backing)
        a = numpy.ones(100_000).view(Sub)
        a.setflags(write=False)
        a
        """,
        %{}
      )

    assert %Array{data: data, dtype: {:f, 64}, shape: {100_000}} = Py.decode(object)

    assert {byte_size(data), data == :binary.copy(<<1.0::float-native-64>>, 100_000)} ==
             {800_000, true}
  end

  test "arrays of objects and numpy scalars stay objects" do
    assert %Py.Object{} = run("import numpy\nnumpy.array([1, 'a'], dtype=object)")
    assert %Py.Object{} = run("import numpy\nnumpy.int64(5)")
  end

  test "a read-only array is shared: the binary's bytes are the array's bytes" do
    {array, _} =
      Py.eval(
        "import numpy\na = numpy.arange(100_000, dtype='float64')\na.setflags(write=False)\na",
        %{}
      )

    %Array{data: data} = Py.decode(array)
    assert byte_size(data) == 800_000
    assert NIF.binary_address(data) == run("a.ctypes.data", %{"a" => array})
  end

  test "a writable array is copied: writing to it later does not change the binary" do
    {array, _} = Py.eval("import numpy\nnumpy.zeros(100_000, dtype='float64')", %{})
    %Array{data: data} = Py.decode(array)
    assert NIF.binary_address(data) != run("a.ctypes.data", %{"a" => array})
    Py.eval("a[0] = 1.0", %{"a" => array})
    assert <<+0.0::float-native-64, _::binary>> = data

    # A read-only view of writable memory is copied too.
    {view, _} = Py.eval("v = a.view()\nv.setflags(write=False)\nv", %{"a" => array})

    %Array{data: data} = Py.decode(view)
    assert NIF.binary_address(data) != run("v.ctypes.data", %{"v" => view})
  end

  test "encoding shares the binary's memory; the array is read-only" do
    data = :binary.copy(<<1.0::float-native-64>>, 100_000)
    array = %Array{data: data, dtype: {:f, 64}, shape: {1000, 100}}

    assert run("(a.ctypes.data, a.shape, a.flags.writeable, float(a.sum()))", %{"a" => array}) ==
             {NIF.binary_address(data), {1000, 100}, false, 100_000.0}

    error = assert_raise Py.Error, fn -> Py.eval("a[0, 0] = 2.0", %{"a" => array}) end

    assert Exception.message(error) =~ "ValueError: assignment destination is read-only"
    assert data == :binary.copy(<<1.0::float-native-64>>, 100_000)

    # Back to Elixir: the same memory again.
    %Array{data: back} = array |> Py.encode!() |> Py.decode()
    assert NIF.binary_address(back) == NIF.binary_address(data)

    # Inside containers, with the Encoder protocol and a custom encoder.
    assert run("type(x[0]).__name__", %{"x" => [array]}) == "ndarray"
    encoder = fn term, encoder -> Oxbeam.Python.Encoder.encode(term, encoder) end
    assert %Array{shape: {1000, 100}} = array |> Py.encode!(encoder) |> Py.decode()
  end

  test "an array shared with Elixir lives until the binary is garbage-collected" do
    {_, %{"freed" => freed}} = Py.eval("freed = []", %{})
    test = self()

    {pid, ref} =
      spawn_monitor(fn ->
        %Array{data: data} =
          run(
            """
            import numpy, weakref
            a = numpy.ones(100_000)
            a.setflags(write=False)
            weakref.finalize(a, freed.append, True)
            a
            """,
            %{"freed" => freed}
          )

        :erlang.garbage_collect()
        send(test, :object_dropped)
        receive do: (:done -> byte_size(data))
      end)

    assert_receive :object_dropped, 10_000
    refute eventually(fn -> run("list(f)", %{"f" => freed}) != [] end, 10)
    send(pid, :done)
    assert_receive {:DOWN, ^ref, :process, ^pid, :normal}, 10_000
    assert eventually(fn -> run("list(f)", %{"f" => freed}) == [true] end)
  end

  test "a struct that is not a valid array raises with the reason" do
    prefix = "cannot encode an Oxbeam.Python.Array as a numpy array: "

    assert_raise ArgumentError,
                 prefix <>
                   "dtype must be {:f, 16 | 32 | 64}, {:s | :u, 8 | 16 | 32 | 64}, {:c, 64 | 128}, " <>
                   ":bool or {:numpy, dtype_string}, got: {:f, 12}",
                 fn -> Py.encode!(%Array{data: "ab", dtype: {:f, 12}, shape: {1}}) end

    assert_raise ArgumentError,
                 prefix <> "cannot reshape array of size 3 into shape (2,2)",
                 fn -> Py.encode!(%Array{data: "abc", dtype: {:u, 8}, shape: {2, 2}}) end

    assert_raise ArgumentError,
                 prefix <> "shape must be a tuple of non-negative integers, got: [1]",
                 fn -> Py.encode!(%Array{data: "a", dtype: {:u, 8}, shape: [1]}) end

    assert_raise ArgumentError,
                 ~s(global "a": ) <> prefix <> "data must be a binary, got: [1]",
                 fn -> Py.eval("a", %{"a" => %Array{data: [1], dtype: {:u, 8}, shape: {1}}}) end
  end
end
