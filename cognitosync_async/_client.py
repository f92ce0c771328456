"""``CognitoSyncClient``: one thin coroutine per operation.

Each method hands its operation's table entry (``_operations``) and its
arguments to ``BaseClient._call``, the request loop (``_base_client``), and
returns its typed ``<Operation>Response``.
"""

from __future__ import annotations

import asyncio
import weakref

from . import _operations as ops
from ._base_client import BaseClient as BaseClient
from ._dataset import DatasetHandle
from ._endpoints import default_endpoint as default_endpoint
from ._models import (
    BulkPublishResponse,
    CognitoStreams,
    DeleteDatasetResponse,
    DescribeDatasetResponse,
    DescribeIdentityPoolUsageResponse,
    DescribeIdentityUsageResponse,
    GetBulkPublishDetailsResponse,
    GetCognitoEventsResponse,
    GetIdentityPoolConfigurationResponse,
    ListDatasetsResponse,
    ListIdentityPoolUsageResponse,
    ListRecordsResponse,
    PushSync,
    RecordPatch,
    RegisterDeviceResponse,
    SetCognitoEventsResponse,
    SetIdentityPoolConfigurationResponse,
    SubscribeToDatasetResponse,
    UnsubscribeFromDatasetResponse,
    UpdateRecordsResponse,
)
from ._operations import validate
from ._paginate import DatasetPaginator, IdentityPoolUsagePaginator, RecordPaginator
from ._transport import USER_AGENT as USER_AGENT  # the SDK's own, without user_agent_extra


class CognitoSyncClient(BaseClient):
    """An asyncio client for Amazon Cognito Sync.

    Use one per event loop, as an async context manager or closing it with
    ``await client.close()``. Constructing it does no I/O.
    """

    #: One lock per dataset, shared by all its handles (see ``dataset``); made on first use.
    _dataset_locks: weakref.WeakValueDictionary[tuple[str, str, str], asyncio.Lock] | None = None

    # ------------------------------------------------------------------ operations

    async def bulk_publish(
        self,
        *,
        identity_pool_id: str,
    ) -> BulkPublishResponse:
        """Start a bulk publish of all existing datasets of a pool to its configured stream
        (developer credentials).
        """
        return await self._call(ops.BULK_PUBLISH, {"identity_pool_id": identity_pool_id})

    async def delete_dataset(
        self,
        *,
        identity_pool_id: str,
        identity_id: str,
        dataset_name: str,
    ) -> DeleteDatasetResponse:
        """Delete a dataset; returns the deleted dataset's description."""
        return await self._call(
            ops.DELETE_DATASET,
            {
                "identity_pool_id": identity_pool_id,
                "identity_id": identity_id,
                "dataset_name": dataset_name,
            },
        )

    async def describe_dataset(
        self,
        *,
        identity_pool_id: str,
        identity_id: str,
        dataset_name: str,
    ) -> DescribeDatasetResponse:
        """Metadata of a dataset: creation and modification dates, records, storage."""
        return await self._call(
            ops.DESCRIBE_DATASET,
            {
                "identity_pool_id": identity_pool_id,
                "identity_id": identity_id,
                "dataset_name": dataset_name,
            },
        )

    async def describe_identity_pool_usage(
        self,
        *,
        identity_pool_id: str,
    ) -> DescribeIdentityPoolUsageResponse:
        """Usage of an identity pool: sync sessions, storage, last modification."""
        return await self._call(
            ops.DESCRIBE_IDENTITY_POOL_USAGE, {"identity_pool_id": identity_pool_id}
        )

    async def describe_identity_usage(
        self,
        *,
        identity_pool_id: str,
        identity_id: str,
    ) -> DescribeIdentityUsageResponse:
        """Usage of one identity: datasets, storage, last modification."""
        return await self._call(
            ops.DESCRIBE_IDENTITY_USAGE,
            {"identity_pool_id": identity_pool_id, "identity_id": identity_id},
        )

    async def get_bulk_publish_details(
        self,
        *,
        identity_pool_id: str,
    ) -> GetBulkPublishDetailsResponse:
        """Status of the latest bulk publish of a pool."""
        return await self._call(
            ops.GET_BULK_PUBLISH_DETAILS, {"identity_pool_id": identity_pool_id}
        )

    async def get_cognito_events(
        self,
        *,
        identity_pool_id: str,
    ) -> GetCognitoEventsResponse:
        """The Cognito events (e.g. ``SyncTrigger``) configured on a pool."""
        return await self._call(
            ops.GET_COGNITO_EVENTS, {"identity_pool_id": identity_pool_id}
        )

    async def get_identity_pool_configuration(
        self,
        *,
        identity_pool_id: str,
    ) -> GetIdentityPoolConfigurationResponse:
        """Push sync and Cognito streams configuration of a pool."""
        return await self._call(
            ops.GET_IDENTITY_POOL_CONFIGURATION, {"identity_pool_id": identity_pool_id}
        )

    async def list_datasets(
        self,
        *,
        identity_pool_id: str,
        identity_id: str,
        next_token: str | None = None,
        max_results: int | None = None,
    ) -> ListDatasetsResponse:
        """One page of an identity's datasets (see ``iter_datasets`` for all)."""
        return await self._call(
            ops.LIST_DATASETS,
            {
                "identity_pool_id": identity_pool_id,
                "identity_id": identity_id,
                "next_token": next_token,
                "max_results": max_results,
            },
        )

    async def list_identity_pool_usage(
        self,
        *,
        next_token: str | None = None,
        max_results: int | None = None,
    ) -> ListIdentityPoolUsageResponse:
        """One page of usage for the account's identity pools (see ``iter_identity_pool_usage``)."""
        return await self._call(
            ops.LIST_IDENTITY_POOL_USAGE,
            {"next_token": next_token, "max_results": max_results},
        )

    async def list_records(
        self,
        *,
        identity_pool_id: str,
        identity_id: str,
        dataset_name: str,
        last_sync_count: int | None = None,
        next_token: str | None = None,
        max_results: int | None = None,
        sync_session_token: str | None = None,
    ) -> ListRecordsResponse:
        """One page of records changed after ``last_sync_count``, with the sync session token (see
        ``iter_records``).
        """
        return await self._call(
            ops.LIST_RECORDS,
            {
                "identity_pool_id": identity_pool_id,
                "identity_id": identity_id,
                "dataset_name": dataset_name,
                "last_sync_count": last_sync_count,
                "next_token": next_token,
                "max_results": max_results,
                "sync_session_token": sync_session_token,
            },
        )

    async def register_device(
        self,
        *,
        identity_pool_id: str,
        identity_id: str,
        platform: str,
        token: str,
    ) -> RegisterDeviceResponse:
        """Register a device for push sync (identity credentials); returns its ``device_id``."""
        return await self._call(
            ops.REGISTER_DEVICE,
            {
                "identity_pool_id": identity_pool_id,
                "identity_id": identity_id,
                "platform": platform,
                "token": token,
            },
        )

    async def set_cognito_events(
        self,
        *,
        identity_pool_id: str,
        events: dict[str, str],
    ) -> SetCognitoEventsResponse:
        """Configure a pool's Cognito events; at most one event per call."""
        return await self._call(
            ops.SET_COGNITO_EVENTS,
            {"identity_pool_id": identity_pool_id, "events": events},
        )

    async def set_identity_pool_configuration(
        self,
        *,
        identity_pool_id: str,
        push_sync: PushSync | None = None,
        cognito_streams: CognitoStreams | None = None,
    ) -> SetIdentityPoolConfigurationResponse:
        """Set push sync and/or Cognito streams of a pool; returns the whole configuration."""
        return await self._call(
            ops.SET_IDENTITY_POOL_CONFIGURATION,
            {
                "identity_pool_id": identity_pool_id,
                "push_sync": push_sync,
                "cognito_streams": cognito_streams,
            },
        )

    async def subscribe_to_dataset(
        self,
        *,
        identity_pool_id: str,
        identity_id: str,
        dataset_name: str,
        device_id: str,
    ) -> SubscribeToDatasetResponse:
        """Subscribe a registered device to a dataset's changes (identity credentials)."""
        return await self._call(
            ops.SUBSCRIBE_TO_DATASET,
            {
                "identity_pool_id": identity_pool_id,
                "identity_id": identity_id,
                "dataset_name": dataset_name,
                "device_id": device_id,
            },
        )

    async def unsubscribe_from_dataset(
        self,
        *,
        identity_pool_id: str,
        identity_id: str,
        dataset_name: str,
        device_id: str,
    ) -> UnsubscribeFromDatasetResponse:
        """Unsubscribe a device from a dataset's changes (identity credentials)."""
        return await self._call(
            ops.UNSUBSCRIBE_FROM_DATASET,
            {
                "identity_pool_id": identity_pool_id,
                "identity_id": identity_id,
                "dataset_name": dataset_name,
                "device_id": device_id,
            },
        )

    async def update_records(
        self,
        *,
        identity_pool_id: str,
        identity_id: str,
        dataset_name: str,
        device_id: str | None = None,
        record_patches: list[RecordPatch] | None = None,
        sync_session_token: str | None,
        client_context: str | None = None,
    ) -> UpdateRecordsResponse:
        """Apply record patches in one atomic request, with the token from ``list_records``.

        ``sync_session_token`` is required (no default) and typed as
        ``ListRecordsResponse.sync_session_token`` is, so that one call's answer
        passes straight to the next; ``None`` is refused before the network
        (``ParamValidationError``).
        """
        return await self._call(
            ops.UPDATE_RECORDS,
            {
                "identity_pool_id": identity_pool_id,
                "identity_id": identity_id,
                "dataset_name": dataset_name,
                "device_id": device_id,
                "record_patches": record_patches,
                "sync_session_token": sync_session_token,
                "client_context": client_context,
            },
        )

    # ------------------------------------------------------------------ helpers

    def dataset(
        self,
        *,
        identity_pool_id: str,
        identity_id: str,
        dataset_name: str,
        max_rounds: int = 5,
        device_id: str | None = None,
    ) -> DatasetHandle:
        """A handle for read-modify-write on one dataset (``get``, ``put``, ``pull``...).

        Its arguments are validated now, before any call.
        """
        validate(
            ops.DESCRIBE_DATASET,
            {
                "identity_pool_id": identity_pool_id,
                "identity_id": identity_id,
                "dataset_name": dataset_name,
            },
        )
        # the conflict lock belongs to the dataset: handles on one dataset share it
        locks = self._dataset_locks
        if locks is None:
            locks = self._dataset_locks = weakref.WeakValueDictionary()
        key = (identity_pool_id, identity_id, dataset_name)
        lock = locks.get(key)
        if lock is None:
            lock = locks[key] = asyncio.Lock()
        return DatasetHandle(
            self,
            identity_pool_id=identity_pool_id,
            identity_id=identity_id,
            dataset_name=dataset_name,
            max_rounds=max_rounds,
            device_id=device_id,
            lock=lock,
        )

    # ------------------------------------------------------------------ paginators

    def iter_datasets(
        self,
        *,
        identity_pool_id: str,
        identity_id: str,
        page_size: int | None = None,
        max_items: int | None = None,
        starting_token: str | None = None,
    ) -> DatasetPaginator:
        """Every dataset of an identity, following ``nextToken``."""
        return DatasetPaginator(
            self.list_datasets,
            {"identity_pool_id": identity_pool_id, "identity_id": identity_id},
            page_size=page_size,
            max_items=max_items,
            starting_token=starting_token,
        )

    def iter_records(
        self,
        *,
        identity_pool_id: str,
        identity_id: str,
        dataset_name: str,
        last_sync_count: int | None = None,
        sync_session_token: str | None = None,
        page_size: int | None = None,
        max_items: int | None = None,
        starting_token: str | None = None,
    ) -> RecordPaginator:
        """Every record changed after ``last_sync_count`` (all when None), tombstones included."""
        return RecordPaginator(
            self.list_records,
            {
                "identity_pool_id": identity_pool_id,
                "identity_id": identity_id,
                "dataset_name": dataset_name,
                "last_sync_count": last_sync_count,
                "sync_session_token": sync_session_token,
            },
            page_size=page_size,
            max_items=max_items,
            starting_token=starting_token,
        )

    def iter_identity_pool_usage(
        self,
        *,
        page_size: int | None = None,
        max_items: int | None = None,
        starting_token: str | None = None,
    ) -> IdentityPoolUsagePaginator:
        """Usage of every identity pool of the account."""
        return IdentityPoolUsagePaginator(
            self.list_identity_pool_usage,
            {},
            page_size=page_size,
            max_items=max_items,
            starting_token=starting_token,
        )
