defmodule Oxbeam.NIF.FastPathTest do
  # The inline small-integer path (nif-core/src/types/int.rs) is switched off by
  # OXBEAM_NO_SMALL_INT_FAST_PATH=1 in the VM's environment when the library loads;
  # scripts/test runs the conformance suites once more that way, so the erl_nif
  # fallback is tested too. Each case loads the library in a child VM, whose
  # environment the test sets.
  use ExUnit.Case, async: true

  defp in_child_vm(env, code), do: Oxbeam.Test.NifChild.run(code, env: env)

  @report ~s|IO.inspect({Oxbeam.Test.Conformance.immediate_ints_enabled(), | <>
            ~s|Oxbeam.Test.Conformance.add(1 <<< 58, 1), Oxbeam.Test.Conformance.sum([-3, 5])})|

  test "without the switch, the inline path is enabled" do
    assert in_child_vm([{"OXBEAM_NO_SMALL_INT_FAST_PATH", nil}], "import Bitwise; " <> @report) ==
             {"{true, 288230376151711745, 2}\n", 0}
  end

  test "OXBEAM_NO_SMALL_INT_FAST_PATH=1 switches it off; integers still work" do
    assert in_child_vm([{"OXBEAM_NO_SMALL_INT_FAST_PATH", "1"}], "import Bitwise; " <> @report) ==
             {"{false, 288230376151711745, 2}\n", 0}
  end

  test "0 or an empty value leaves it on" do
    for value <- ["0", ""] do
      assert {"{true, " <> _, 0} =
               in_child_vm(
                 [{"OXBEAM_NO_SMALL_INT_FAST_PATH", value}],
                 "import Bitwise; " <> @report
               )
    end
  end
end
