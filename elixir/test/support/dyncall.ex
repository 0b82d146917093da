defmodule Oxbeam.Test.DynProvider do
  @moduledoc """
  `tests/dyncall_provider`: resource types with explicit names, one with a dynamic
  call, for `test/nif/dynamic_resource_test.exs`.
  """
  use Oxbeam,
    otp_app: :oxbeam,
    crate: "oxbeam_dyncall_provider",
    path: "../tests/dyncall_provider"
end

defmodule Oxbeam.Test.DynConsumer do
  @moduledoc """
  `tests/dyncall_consumer`: calls `Oxbeam.Test.DynProvider`'s counters through their
  dynamic call, for `test/nif/dynamic_resource_test.exs`.
  """
  use Oxbeam,
    otp_app: :oxbeam,
    crate: "oxbeam_dyncall_consumer",
    path: "../tests/dyncall_consumer"
end
