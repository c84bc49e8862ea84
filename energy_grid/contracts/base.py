"""What every contract class shares: signing and sending through one `Transactor`, reads that
turn reverts into `GridError`s, events out of receipts, and structs into dataclasses.

Plain web3.py and eth-account only: a wallet user's script runs against any node without ape.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from enum import IntEnum
from typing import Any, Generic, NamedTuple, TypeVar, cast, get_args, get_origin, get_type_hints

import requests
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import (
    ContractCustomError,
    ContractLogicError,
    MismatchedABI,
    ProviderConnectionError,
    Web3ValidationError,
)
from web3.logs import DISCARD
from web3.types import Nonce, TxParams, TxReceipt

from energy_grid.chain.errors import (
    ContractRevertError,
    DecodedError,
    GridError,
    InvalidInputError,
    NodeUnreachableError,
    TransactionRevertedError,
    decode_error,
    describe_builtin_revert,
)
from energy_grid.chain.events import unpacked

# The estimate runs against the latest block; the transaction runs in the next, whose later time
# can write more (a producer's first booked energy, a new interval's counters). Unused gas is not
# charged, so a margin costs nothing.
GAS_MARGIN = 25_000
CONNECTION_ERRORS = (requests.exceptions.ConnectionError, ProviderConnectionError, ConnectionError)

T = TypeVar("T")

# Set while a write method builds its transaction instead of sending it (`ContractClient.build`).
_BUILDING: ContextVar[bool] = ContextVar("building", default=False)


class DeployedContracts(Mapping[str, Contract]):
    """A deployment's contracts by manifest name, each web3 Contract built when first used: web3 makes
    a class for every function and event of an ABI, about a tenth of a second for a whole deployment,
    and a command or a request uses one or two. Addresses and ABIs are at hand without building."""

    def __init__(self, w3: Web3, entries: Mapping[str, Mapping[str, Any]]) -> None:
        self.w3 = w3
        self.addresses: dict[str, str] = {name: Web3.to_checksum_address(entry["address"]) for name, entry in entries.items()}
        self.abis: dict[str, list[dict[str, Any]]] = {name: list(entry["abi"]) for name, entry in entries.items()}
        self._built: dict[str, Contract] = {}

    def __getitem__(self, name: str) -> Contract:
        contract = self._built.get(name)
        if contract is None:
            # decode_tuples: struct results come back as named tuples (status.currentLoadW, …).
            contract = self.w3.eth.contract(address=cast(Any, self.addresses[name]), abi=cast(Any, self.abis[name]), decode_tuples=True)
            self._built[name] = contract
        return contract

    def __iter__(self) -> Iterator[str]:
        return iter(self.addresses)

    def __len__(self) -> int:
        return len(self.addresses)

    def decode_error(
        self, data: str, userdocs: Mapping[str, Mapping[str, Any]], called: tuple[str, Sequence[Mapping[str, Any]]] | None = None
    ) -> DecodedError | None:
        """The custom error in revert `data`, from the called contract's ABI first (`called`: its
        address and ABI), then from each deployed contract's: an error bubbles up from the contract
        that declared it (a token's balance error through EnergyTrading, SmartMeter's through
        DemandResponse, …). `userdocs` by lowercase address give its NatSpec notice."""
        abis: dict[str, Sequence[Mapping[str, Any]]] = {} if called is None else {called[0].lower(): called[1]}
        for name, address in self.addresses.items():
            abis.setdefault(address.lower(), self.abis[name])
        for address, abi in abis.items():
            decoded = decode_error(abi, data, userdocs.get(address))
            if decoded is not None:
                return decoded
        return None

    def name_at(self, address: str) -> str | None:
        """The first name the manifest lists the contract at `address` under; None if it has none."""
        wanted = address.lower()
        return next((name for name, at in self.addresses.items() if at.lower() == wanted), None)


class Transactor:
    """Signs, sends and reads for every contract of one deployment; explains any revert with the
    ABI and NatSpec of whichever deployed contract declared the error (a token's balance error
    bubbles up through EnergyTrading, SmartMeter's through DemandResponse, …)."""

    def __init__(self, w3: Web3, contracts: DeployedContracts, userdocs: Mapping[str, Mapping[str, Any]]) -> None:
        self.w3 = w3
        self.contracts = contracts
        # By address: the manifest lists one contract under two names (Settlement, EnergyTrading).
        self.userdocs = {address.lower(): doc for address, doc in userdocs.items()}
        self.names: dict[str, str] = {}
        for name, address in contracts.addresses.items():
            self.names.setdefault(address.lower(), name)

    @property
    def rpc_url(self) -> str:
        return str(getattr(self.w3.provider, "endpoint_uri", "") or "the node")

    def transact(self, signer: LocalAccount, call: ContractFunction) -> TxReceipt:
        """Signs, sends and waits for `call`; raises a GridError naming the custom error on a revert."""
        return self.wait(self.send(signer, call), call.fn_name)

    def build(self, sender: str, call: ContractFunction, nonce: int | None = None) -> TxParams:
        """The unsigned transaction of `call` from `sender`: gas estimated (with GAS_MARGIN), fees,
        chain id, and the sender's next nonce unless one is given. The estimate runs against the
        latest block, so a call the current state rejects raises its GridError here."""
        try:
            if nonce is None:
                nonce = self.w3.eth.get_transaction_count(Web3.to_checksum_address(sender), "pending")
            tx = call.build_transaction({"from": sender, "nonce": Nonce(nonce)})
            tx["gas"] = int(tx["gas"]) * 3 // 2 + GAS_MARGIN
            return tx
        except GridError:
            raise
        except Exception as err:  # noqa: BLE001 - translated, or re-raised as is
            raise self.translate(call, err) from None

    def send(self, signer: LocalAccount, call: ContractFunction, nonce: int | None = None) -> HexBytes:
        """Signs and sends `call` without waiting for its receipt; pass consecutive nonces to put
        several transactions in one block. The transaction is built first (`build`), so a call the
        current state rejects raises there and is never sent."""
        tx = self.build(signer.address, call, nonce)
        try:
            signed = signer.sign_transaction(cast(Any, tx))
            return self.w3.eth.send_raw_transaction(signed.raw_transaction)
        except Exception as err:  # noqa: BLE001 - translated, or re-raised as is
            raise self.translate(call, err) from None

    def wait(self, tx_hash: HexBytes, function: str = "transaction") -> TxReceipt:
        try:
            receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash)
        except CONNECTION_ERRORS as err:
            raise NodeUnreachableError(self.rpc_url, str(err)) from None
        if receipt["status"] != 1:
            raise TransactionRevertedError(
                function, "it ran out of gas or the state changed since its estimate", "0x" + bytes(tx_hash).hex()
            )
        return receipt

    def call(self, call: ContractFunction) -> Any:
        """Runs a view; a revert raises the same GridErrors as a transaction."""
        try:
            return call.call()
        except Exception as err:  # noqa: BLE001 - translated, or re-raised as is
            raise self.translate(call, err) from None

    def translate(self, call: ContractFunction, err: Exception) -> Exception:
        """The GridError for what web3.py raised; anything unforeseen comes back unchanged."""
        if isinstance(err, ContractCustomError):
            return self.rejection(call, str(err.data))
        if isinstance(err, ContractLogicError):
            data = err.data if isinstance(err.data, str) else None
            detail = (describe_builtin_revert(data) if data else None) or str(err.message or err)
            return TransactionRevertedError(call.fn_name, detail, data=data)
        if isinstance(err, CONNECTION_ERRORS):
            return NodeUnreachableError(self.rpc_url, str(err))
        if isinstance(err, (Web3ValidationError, MismatchedABI, TypeError, OverflowError)):
            return InvalidInputError(f"{call.fn_name}: {err}")
        return err

    def rejection(self, call: ContractFunction, data: str) -> GridError:
        """The custom error in `data`, from the called contract's ABI first, then the others'."""
        decoded = self.contracts.decode_error(data, self.userdocs, (call.address, call.contract_abi))
        if decoded is None:
            return TransactionRevertedError(call.fn_name, f"unknown error {data[:10]}", data=data)
        name = self.names.get(call.address.lower(), call.address)
        return ContractRevertError(name, call.fn_name, decoded.name, decoded.arguments, decoded.notice)


class ContractClient:
    """One deployed contract: typed methods over `contract.functions`, sent through `transactor`."""

    def __init__(self, transactor: Transactor, contract: Contract) -> None:
        self.transactor = transactor
        self.contract = contract

    @property
    def address(self) -> str:
        return str(self.contract.address)

    @property
    def w3(self) -> Web3:
        return self.transactor.w3

    def _fn(self, name: str, *args: Any, signature: str | None = None) -> ContractFunction:
        """The bound call, or InvalidInputError when the arguments do not fit its ABI types."""
        try:
            if signature is not None:
                return self.contract.get_function_by_signature(signature)(*args)
            return cast(ContractFunction, getattr(self.contract.functions, name)(*args))
        except (Web3ValidationError, MismatchedABI, TypeError, OverflowError) as err:
            raise InvalidInputError(f"{name}: {err}") from None

    def _send(self, signer: LocalAccount, name: str, *args: Any, signature: str | None = None) -> TxReceipt:
        call = self._fn(name, *args, signature=signature)
        if _BUILDING.get():
            raise _Built(call)
        return self.transactor.transact(signer, call)

    @property
    def build(self) -> Writes[TxParams]:
        """Every write method, returning the unsigned transaction it would send instead of sending it;
        it takes the sender (an address, or the account) where the method takes the signer:

            tx = grid.vault.build.deposit(account.address, token, amount)
            grid.w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
        """
        return Writes(self, self.transactor.build)

    @property
    def calls(self) -> Writes[ContractFunction]:
        """Every write method, returning the bound contract call it would send: what a dry run, or a
        relay that signs and sends it later, takes."""
        return Writes(self, lambda _sender, call: call)

    def paused(self) -> bool | None:
        """Whether the contract is paused; None for a contract that cannot be."""
        abi = cast(list[dict[str, Any]], self.contract.abi)
        if not any(item.get("type") == "function" and item.get("name") == "paused" for item in abi):
            return None
        return bool(self._call("paused"))

    def _call(self, name: str, *args: Any, signature: str | None = None) -> Any:
        return self.transactor.call(self._fn(name, *args, signature=signature))

    def _int(self, name: str, *args: Any) -> int:
        return int(self._call(name, *args))

    def events(self, receipt: TxReceipt, name: str) -> list[dict[str, Any]]:
        """The args of every `name` event this contract emitted in the receipt, a packed event's
        figures by name (other contracts' logs, such as token transfers, are skipped)."""
        logs = getattr(self.contract.events, name)().process_receipt(receipt, errors=DISCARD)
        return [unpacked(name, log["args"]) for log in logs if log["address"].lower() == self.address.lower()]

    def event(self, receipt: TxReceipt, name: str) -> dict[str, Any]:
        """The one `name` event of the receipt."""
        (args,) = self.events(receipt, name)
        return args

    def _id(self, receipt: TxReceipt, event: str, field: str) -> int:
        return int(self.event(receipt, event)[field])


# ---------------------------------------------------------------------------------- building


class _Built(BaseException):
    """Carries the call a write method was about to send out of the method. A BaseException, so that
    no handler in a method body, however broad, takes it for a failure."""

    def __init__(self, call: ContractFunction) -> None:
        super().__init__(call.fn_name)
        self.call = call


class _Sender(NamedTuple):
    """Stands in for the signer when a write is built for an address: the methods read only its address."""

    address: str

    @property
    def key(self) -> bytes:
        raise InvalidInputError("This write signs with the sender's key before it sends: build it with the account, not its address.")


class Writes(Generic[T]):
    """A wrapper's write methods, each run up to the transaction it would send; `finish(sender, call)`
    answers instead of sending. Their own input checks stand aside meanwhile: a built transaction is
    judged by the contract (its estimate or a dry run gives the custom error), while the sending
    methods refuse bad input early only to spare the round trip."""

    def __init__(self, wrapper: ContractClient, finish: Callable[[str, ContractFunction], T]) -> None:
        self._wrapper = wrapper
        self._finish = finish

    def __getattr__(self, name: str) -> Callable[..., T]:
        method = getattr(self._wrapper, name)

        def built(sender: str | LocalAccount, *args: Any, **kwargs: Any) -> T:
            signer = _Sender(Web3.to_checksum_address(sender)) if isinstance(sender, str) else sender
            building = _BUILDING.set(True)
            try:
                method(signer, *args, **kwargs)
            except _Built as captured:
                return self._finish(signer.address, captured.call)
            finally:
                _BUILDING.reset(building)
            raise InvalidInputError(f"{name} sends no transaction with these arguments")

        return built


def require(condition: bool, message: str) -> None:
    """Refuses input before anything is sent (cheaper than a revert, and clearer); not while a write
    is built (see `Writes`)."""
    if not condition and not _BUILDING.get():
        raise InvalidInputError(message)


def require_amount(name: str, value: int) -> None:
    require(isinstance(value, int) and not isinstance(value, bool) and value > 0, f"{name} must be a positive integer, not {value!r}")


def require_enum(enum: type[IntEnum], value: int) -> IntEnum:
    try:
        return enum(value)
    except ValueError:
        raise InvalidInputError(f"{value!r} is not a {enum.__name__} ({', '.join(m.name for m in enum)})") from None


# ---------------------------------------------------------------------------------- structs


_UNIT_TOKENS = (("KWh", "Kwh"), ("MilliHz", "Millihz"), ("KW", "Kw"), ("MW", "Mw"))


def snake_case(name: str) -> str:
    """An ABI name in Python: `pricePerKWh` -> `price_per_kwh`, `frequencyMilliHz` ->
    `frequency_millihz`, `irradianceWPerM2` -> `irradiance_w_per_m2`."""
    for token, replacement in _UNIT_TOKENS:
        name = name.replace(token, replacement)
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name)
    return name.lower()


def decode_struct(cls: type[T], raw: Sequence[Any]) -> T:
    """A struct as web3.py returns it (a tuple in ABI order) as the dataclass `cls`; IntEnum
    fields, nested structs and lists of them are converted too."""
    hints = get_type_hints(cls)
    values = {f.name: _convert(hints[f.name], value) for f, value in zip(dataclasses.fields(cast(Any, cls)), raw)}
    return cast(Callable[..., T], cls)(**values)


def _convert(hint: Any, value: Any) -> Any:
    origin = get_origin(hint)
    if origin in (list, tuple):
        (item,) = get_args(hint)[:1]
        return [_convert(item, v) for v in value]
    if isinstance(hint, type):
        if issubclass(hint, IntEnum):
            return hint(value)
        if dataclasses.is_dataclass(hint):
            return decode_struct(hint, value)
        if hint is bool:
            return bool(value)
        if hint is int:
            return int(value)
        if hint is bytes:
            return bytes(value)
        if hint is str:
            return str(value)
    return value


def decode_structs(cls: type[T], raw: Sequence[Sequence[Any]]) -> list[T]:
    return [decode_struct(cls, item) for item in raw]


def decode_event(cls: type[T], args: Mapping[str, Any]) -> T:
    """An event's arguments as the record `cls` (a NamedTuple or dataclass): each field takes the
    argument its name is the snake case of, converted as a struct's fields are."""
    by_field = {snake_case(name): value for name, value in args.items()}
    values = {name: _convert(hint, by_field[name]) for name, hint in get_type_hints(cls).items()}
    return cast(Callable[..., T], cls)(**values)


def as_tuple(struct: Any) -> tuple[Any, ...]:
    """A struct dataclass as the tuple web3.py encodes (enums as their ints)."""
    return tuple(int(v) if isinstance(v, IntEnum) else v for v in dataclasses.astuple(struct))
