"""Tiltak og oppfølging: every action of the helsefellesskap the user may see, in the shape of the SSU's
own tables (Tiltak | Mål | Gjennomføring | Tidspunkt | Ansvarlig), filterable and exportable; a
redaktør adds and edits actions here. Internal app only.
"""

from ui import cache, layout, ssu

key = cache.data_key()
layout.page_heading(
    "Tiltak og oppfølging",
    "Tiltakene helsefellesskapene har vedtatt for å påvirke indikatorene: hva som skal gjøres, målet, hvor langt "
    "det har kommet, fristen og hvem som er ansvarlig.",
)
hf = cache.helsefellesskap(key)
names = dict(zip(hf["helsefellesskap_id"].to_list(), hf["kortnavn"].to_list()))
ssu.actions_page(cache.catalogue(), names, key)
