"""Footprints and recycled-content shares over the traceability graph.

The graph is the ledger's: roots (``Source``: vehicles, bought scrap, primary ingot,
alloying) and activities (``Activity``: events with inputs, outputs, losses and process
burdens), taken in ledger order, which is a topological order (an input exists before
it is used). Every number is kg CO2e per kg of a node, split by lifecycle stage.

Conventions, followed exactly:

1. A melt is homogeneous: every output of an activity gets the same shares and the same
   footprint per kg. Process burdens and input burdens are spread over all outputs by
   mass; melt loss and dross carry none. Where mass does not mix (dismantling, explicit
   ``flows``) each output takes its own source's footprint per kg, plus its mass share of
   the process burdens.
2. Run-around (internal) scrap is not recycled content in itself: it carries the shares
   and the footprint per kg of the melt it came from (rule 1 does that, since it is an
   output of that melt like the castings).
3. Post-consumer scrap (and the vehicles it comes from) enters with only its own
   collection, sorting and transport burdens under ``cut_off``: an end-of-life vehicle
   brings no burden of its first life.
4. Pre-consumer scrap under ``allocation`` carries the footprint per kg of the product
   whose process generated it (``Source.generator_per_kg``), on top of its own burdens;
   under ``cut_off`` it enters like post-consumer scrap.
5. ``cff``: the PEF Circular Footprint Formula (Commission Recommendation (EU) 2021/2279,
   Annex I section 4.4.8 and Annex C), its material and disposal parts, per kg of material:

       (1 - R1) E_v + R1 (A E_recycled + (1 - A) E_v Qs_in/Qp)
       + (1 - A) R2 (E_recyclingEoL - E*_v Qs_out/Qp)
       + (1 - B) R3 (E_ER - LHV X_ER,heat E_SE,heat - LHV X_ER,elec E_SE,elec)
       + (1 - R2 - R3) E_D

   Every parameter is the material's own (``Parameters.of``: ``Material`` rows by material;
   an activity names its outputs' material and the kg of it per kg of output in
   ``Activity.materials``, e.g. a cobalt salt is cobalt at its metal content; an output not
   named is the default material, whole; a material without parameters is cut-off).
   Recycled material is substituted where it is made into secondary material (an activity
   with ``substitutes``: remelting, black-mass refining). There, with ``R1`` the kg share of
   the inputs that is wholly recycled material not yet substituted, each output gets, per kg:
   the virgin inputs' burdens and the share ``1 - R1`` of the activity's own process burden in
   full (``(1 - R1) E_v``: a virgin input's burden is its E_v); the recycled inputs' burdens
   and the share ``R1`` of the process burden (E_recycled: the recycled material's upstream
   collection and sorting plus the recycling process itself) times A; and
   ``(1 - A) E_v Qs_in/Qp content R1`` in raw material, E_v being that of the output's own
   material, per kg of output (R1 of each kg is recycled content). The burdens are spread over
   the output mass (losses carry none), so outputs of one material share one state; outputs of
   different materials (the salts of one refining) differ only in their A and in this last
   term. The products (``Activity.products``) add their own end of life, the formula's second
   to fourth lines for their material (times its content), to their end-of-life stage. A = 1
   gives ``cut_off`` up to that end of life, which then keeps only ``(1 - R2 - R3) E_D``.
6. End-of-life burdens of a node are its own and never flow into what is made from it.
7. Shares (pre-consumer, post-consumer, post-consumer by vehicle make for closed-loop)
   follow mass under ``physical`` custody (segregated / controlled blending). Under
   ``mass_balance`` (ISO 22095; one account per site and calendar year, as the ASI
   chain-of-custody standard keeps it) every substituting activity credits its site's
   account for its period with the recycled kg of its inputs, in output-equivalent kg (the
   recycled share of the mix times the kg out: losses take their share), split pre-,
   post-consumer and post-consumer by make (``carbon.engine.account``). Its outputs carry
   zero recycled share unless claimed: unclaimed output is reported at zero under mass
   balance; the physical share is under ``physical``. A claim (``Activity.claim``, a
   recorded operation, in ledger order) draws its account down and adds its kg over the
   lot's mass to the lot's shares (so the lot's shares are its cumulative claims over its
   mass); a claim beyond the account's balance or beyond the lot's mass is a
   ``CarbonError``, so the account never goes negative. Whatever is made from a claimed lot
   afterwards mixes its shares by mass, as above. Claims change nothing under ``physical``.
8. The share of primary data is the fraction of a node's footprint computed from
   company-specific data (measured energy, supplier footprints bound to a lot).
9. Process burdens arrive by Art. 7 stage (``Activity.burdens``) and stay in it. The stage
   of each recorded operation is chosen once, in ``carbon.graph.PROCESS_STAGE``, for the
   outputs it makes: die-casting is main product production; dismantling, sorting,
   remelting, battery recycling and refining are raw material acquisition and
   pre-processing of the secondary material they make; freight between sites is
   distribution. The end-of-life stage is a product's own (convention 5), never a recorded
   process, which is the end of life of its inputs' products.

Two solutions follow them: the linear solution (``carbon.engine.linear``), every footprint
of a graph at once under physical custody, and the walk (``carbon.engine.walk``), in
ledger order, for mass balance. ``compute`` chooses between them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from carbon.engine.model import METHODS, PHYSICAL, Activity, Footprint, Parameters, Source
from carbon.engine.walk import walk


def compute(
    sources: Iterable[Source],
    activities: Iterable[Activity],
    *,
    method: str,
    chain: str,
    params: Parameters,
    known: Mapping[int, Footprint] | None = None,
) -> Mapping[int, Footprint]:
    """Footprints of every root and every activity output under one method and chain of custody.

    ``known`` holds results of nodes that are inputs here but are not recomputed (the
    incremental case); ``params`` holds the CFF's parameters by material.
    """
    results = compute_methods(
        list(sources),
        list(activities),
        methods=(method,),
        chain=chain,
        params=params,
        known={method: known or {}},
    )
    return results[method]


def compute_methods(
    sources: Collection[Source],
    activities: Collection[Activity],
    *,
    methods: Collection[str],
    chain: str,
    params: Parameters,
    known: Mapping[str, Mapping[int, Footprint]] | None = None,
) -> dict[str, Mapping[int, Footprint]]:
    """``compute`` under each of ``methods`` (``known`` by method): the choice of solution is made here.

    Physical custody is solved as one sparse linear system, its arrays built once for all
    the methods (only the known inputs' results differ); mass balance is walked in ledger
    order, once per method.
    """
    known = known or {}
    if chain == PHYSICAL and all(method in METHODS for method in methods):
        # numpy and SciPy load only when the linear solution runs: the offline verifier,
        # which walks, needs nothing beyond the standard library.
        from carbon.engine.linear import network, solve, with_known

        arrays = network(sources, activities)
        return {
            method: solve(with_known(arrays, known.get(method, {})), method=method, params=params) for method in methods
        }
    return {
        method: walk(
            sources,
            activities,
            method=method,
            chain=chain,
            params=params,
            known=known.get(method, {}),
        )
        for method in methods
    }


__all__ = ["compute", "compute_methods"]
