"""The catalogue of the interface's words: English and 简体中文 under one stable key each.

:data:`WORDS` maps a dotted key (``page.overview.title``, ``frame.no_orders``) to ``(English,
中文)``; templates use ``str.format`` fields, the same fields in both languages. The KPIs and the
warehouse's columns and coded values keep their English where they are declared (the KPI registry,
:mod:`o2o_ops.words`); their Chinese is here, keyed by the same names, and a test fails when one
has no translation. Terms follow what Chinese O2O operators say (核销 for redemption, 客单价,
门店, 活动), and numbers are never written into a translation: they come in as fields.
"""

from __future__ import annotations

#: KPI name -> (label, definition) in Chinese; the English is the KPI registry's own.
KPIS_ZH: dict[str, tuple[str, str]] = {
    "orders": ("订单数", "统计期内下单的线上订单数（任何状态），按下单时间计。"),
    "paid_orders": ("已支付订单", "状态不是已取消的订单（已退款和已过期的订单都曾支付）。"),
    "revenue": ("营收", "统计期内下单的已支付订单的实付金额之和。"),
    "net_revenue": ("净营收", "实付金额 − 退款 + 到店额外消费，统计期内下单的已支付订单。"),
    "new_customers": ("新客数", "首单在统计期内下单的顾客。"),
    "redemptions": ("核销数", "统计期内下单并已到店核销的订单。"),
    "redemption_rate": ("核销率", "已核销的已支付订单 / 已支付订单。"),
    "time_to_redeem_hours": ("核销用时", "已核销的已支付订单从下单到核销的小时数中位数。"),
    "breakage_orders": ("过期未核销（单）", "已过有效期（截至仓库最新订单）且从未核销的已支付订单。"),
    "breakage_value": ("过期未核销（金额）", "过期未核销订单的实付金额之和。"),
    "capacity_utilisation": ("产能利用率",
                             "统计期内的核销数（按核销时间）/（每小时接待能力 × 每天营业小时）对所筛选门店求和。"
                             "营业小时：门店当天的营业时间（store_hours），未提供时用设置 O2O_OPEN_HOURS_PER_DAY。"
                             "不按渠道或活动计算。"),
    "reviews": ("评价数", "统计期内下单的订单收到的评价。"),
    "avg_rating": ("平均评分", "统计期内下单的订单的评价平均分（1–5）。"),
    "positive_share": ("好评占比", "评分 ≥ 4 的评价 / 评价。"),
    "complaint_rate": ("投诉率", "带投诉类别的评价 / 核销数。"),
    "refund_rate": ("退款率", "至少有一笔退款的已支付订单 / 已支付订单。"),
    "refund_amount_share": ("退款金额占比", "统计期内下单的已支付订单的退款金额 / 实付金额。"),
    "sla_attainment": ("服务时效达成率", "等待时间 ≤ 门店承诺等待时间的核销 / 有等待记录（且有承诺）的核销。"),
    "repeat_rate": ("复购率", "统计期内下单 2 次及以上的顾客 / 统计期内下过单的顾客。"),
    "discount_cost": ("折扣成本", "已支付订单的折扣金额之和。"),
    "discount_depth": ("折扣深度", "折扣 / 原价，已支付订单：优惠让利有多深。"),
    "platform_fees": ("平台佣金", "已支付订单的平台服务费之和。"),
    "marketing_spend": ("营销投入", "营销类成本之和（活动成本分摊到活动门店）。"),
    "staff_cost": ("人力成本", "人力类成本之和。"),
    "other_costs": ("其他成本", "其他类型成本之和（租金等）。"),
    "cost_per_redemption": ("单次核销成本", "（折扣成本 + 平台佣金 + 营销投入 + 人力成本）/ 核销数。"),
    "cac": ("获客成本", "记入活动的营销投入 / 统计期内首单来自活动的顾客。"),
    "roi": ("投资回报率",
            "（净营收 − 成本）/ 成本；净营收 = 实付 − 退款 + 额外消费；成本 = 平台佣金 + 营销 + 人力 + 其他成本。"
            "折扣不计入成本，因为实付金额已扣除折扣。"),
    "rating_gap": ("评分落差", "线上展示评分 − 实际评价评分，按评价加权；正数 = 承诺过高。没有展示评分的门店不计入。"),
    "wait_gap_minutes": ("等待落差", "（实际等待分钟 − 承诺等待分钟）的平均值，针对两者都有的核销；正数 = 比承诺更久。"),
    "as_described_rate": ("描述相符率", "回答“与描述相符”的评价 / 作答的评价。"),
    "deal_customer_gap": ("优惠客评分差", "活动订单的平均评分 − 原价订单的平均评分。"),
    "symmetry_index": ("线上线下一致性指数",
                       "每家门店 0–100：评分落差、等待落差、描述相符率和投诉率四项加权，各项按证据多少向“无落差”收缩；"
                       "门店以上的层级为按核销数加权的门店指数平均值。详细算法见“指标定义”页。"),
    "late_vs_promise_rate": ("超出承诺率",
                             "在承诺时间之后才履约（或到期仍未履约）、或等待超过承诺的已支付订单 / 承诺已到期的已支付订单"
                             "（orders.promised_at 已过或已达成，或 orders.promised_wait_minutes 有实际等待记录）。"),
    "online_rating": ("线上展示评分",
                      "门店在线上展示的评分（stores.listed_rating）。门店层级为门店自身的评分；以上层级为展示评分的门店在"
                      "统计期内订单的加权平均。"),
    "promises_due": ("到期承诺数", "自身承诺已到期的已支付订单（超出承诺率的分母）。"),
    "inspections": ("巡检次数", "统计期内门店的线下巡检（审核）次数，按巡检日期计。"),
    "inspection_pass_rate": ("巡检通过率",
                             "通过的巡检 / 有结果的巡检。通过：巡检自身的通过/不通过；没有时看分数 ≥ "
                             "O2O_INSPECTION_PASS_SCORE；再没有时看是否无严重违规。不按渠道或活动计算。"),
    "violations_per_inspection": ("每次巡检违规数", "发现的违规（严重 + 主要 + 轻微）/ 有违规计数的巡检。"),
    "critical_violations_per_inspection": ("每次巡检严重违规数", "发现的严重违规 / 有严重违规计数的巡检。"),
    "avg_inspection_score": ("巡检平均分", "有评分的巡检的平均分（0–100）。"),
    "impressions": ("曝光数", "统计期内的曝光（线上漏斗事件，按发生时间）。"),
    "clicks": ("点击数", "统计期内的点击（线上漏斗事件，按发生时间）。"),
    "coupons_received": ("领券数", "统计期内领取的优惠券（线上漏斗事件，按发生时间）。"),
    "click_through_rate": ("点击率", "点击 / 曝光，统计期内的事件。"),
    "coupon_receive_rate": ("领券率", "领券 / 点击，统计期内的事件。"),
    "received_to_order_rate": ("领券 → 下单", "统计期内领取、其顾客随后（领取之时或之后）下了该活动已支付订单的优惠券 / 领券数。"),
    "received_to_redeemed_rate": ("领券 → 核销",
                                  "统计期内领取、其顾客在领取后 O2O_COUPON_REDEEM_DAYS 天内核销了该活动订单的优惠券 / 领券数。"),
    "cost_per_click": ("单次点击成本", "统计期内记入活动的营销投入 / 点击数。"),
}

#: The words the Chinese KPI labels are made of, where a narrow card may break a label onto its
#: next line (:func:`o2o_ops.i18n.card_label`): "平均|评分", never "平均评|分" as the browser
#: breaks Chinese between any two characters. A label is split by the longest word at each place.
LABEL_WORDS_ZH: frozenset[str] = frozenset({
    "订单数", "已支付", "订单", "营收", "净营收", "新客数", "核销数", "核销率", "核销", "用时", "过期", "未核销",
    "（单）", "（金额）", "产能", "利用率", "评价数", "平均", "评分", "好评", "占比", "投诉率", "退款率", "退款",
    "金额", "服务", "时效", "达成率", "复购率", "折扣", "成本", "深度", "平台", "佣金", "营销", "投入", "人力",
    "其他", "单次", "获客", "投资", "回报率", "落差", "等待", "描述", "相符率", "优惠客", "评分差", "线上", "线下",
    "一致性", "指数", "超出", "承诺率", "展示", "到期", "承诺数", "巡检", "次数", "通过率", "每次", "违规数",
    "严重", "平均分", "曝光数", "点击数", "领券数", "点击率", "领券率", "点击", "领券", "下单",
})

#: KPI area -> Chinese (the English is kpis.catalog.AREA_LABELS)
AREAS_ZH = {"volume": "规模", "quality": "服务质量", "cost": "成本", "efficiency": "运营效率",
            "symmetry": "线上线下一致性"}

#: Column name -> Chinese label; the English and the unit are o2o_ops.words.COLUMNS.
COLUMNS_ZH: dict[str, str] = {
    "store_id": "门店编号", "store_name": "门店", "store_city": "城市", "store_category": "品类", "city": "城市",
    "category": "品类", "region": "大区", "district": "区县", "campaign_id": "活动编号", "campaign_name": "活动",
    "campaign_kind": "活动类型", "kind": "类型", "channel": "渠道", "customer_id": "顾客",
    "order_id": "订单", "tracking_code": "核销码", "ordered_at": "下单时间", "status": "状态", "paid_amount": "实付", "list_price": "原价",
    "discount_amount": "折扣", "refund_amount": "退款", "redeemed_at": "核销时间", "wait_minutes": "等待（分钟）",
    "actual_wait_minutes": "实际等待（分钟）", "listed_wait_minutes": "承诺等待（分钟）", "posted_at": "评价时间",
    "rating": "评分", "as_described": "与描述相符", "complaint_category": "投诉", "complaint": "投诉", "listed_rating": "展示评分",
    "count_orders": "订单数", "count_redemptions": "核销数", "count_refunds": "退款数", "count_problems": "问题数",
    "count_rows": "行数", "rows_added": "新增行", "rows_updated": "更新行", "rows_rejected": "拒收行",
    "peer_stores": "同类门店数", "weeks_over_capacity": "超负荷周数", "capacity_per_hour": "每小时接待能力",
    "budget": "预算", "margin": "毛利", "total_cost": "总成本", "margin_rate": "毛利率",
    "share_of_paid_orders": "占已支付订单比例", "peak_week_utilisation": "最忙一周的利用率",
    "reason": "原因", "rank": "排名", "vs_peers": "与同类相比", "peer_median": "同类中位数",
    "is_over_capacity": "超负荷", "index_before": "指数（前 4 周）", "index_recent": "指数（近 4 周）",
    "index_drop": "指数下降", "label": "分组",
    "table_name": "表", "check": "检查", "description": "发现的问题", "file": "文件", "imported_at": "导入时间",
    "imported_by": "导入人", "start_date": "开始", "end_date": "结束",
    "gap_start": "空缺开始", "gap_end": "空缺结束", "days_missing": "缺少天数", "column_name": "列名",
    "parent_table": "上级表", "count_orphans": "无对应记录的行数", "example_value": "示例值",
    "observed_discount_share": "实测折扣比例", "name": "名称", "lat": "纬度", "lon": "经度", "review_id": "评价编号",
}

#: Group of coded values (o2o_ops.words.GROUPS) -> raw value -> Chinese.
VALUES_ZH: dict[str, dict[str, str]] = {
    "categories": {"restaurant": "餐饮", "hotel": "酒店", "travel": "旅游", "car_rental": "租车",
                   "beauty_leisure": "丽人休闲", "local_services": "生活服务"},
    "campaign_kinds": {"coupon": "优惠券", "discount": "折扣", "flash_sale": "限时抢购", "group_buy": "团购",
                       "membership": "会员", "full price": "原价"},
    "complaints": {"long_wait": "等待太久", "not_as_described": "与描述不符", "service": "服务", "staff": "员工",
                   "hygiene": "卫生", "price": "价格", "other": "其他"},
    "statuses": {"paid": "已支付", "refunded": "已退款", "expired": "已过期", "cancelled": "已取消"},
    "checks": {"orphans": "指向不存在记录的行", "date_gaps": "没有订单的日子",
               "stores_without_coordinates": "没有坐标的门店", "reviews_without_redemptions": "未核销订单的评价"},
    "channels": {"wechat": "微信", "alipay": "支付宝", "app": "App", "web": "网页", "maps": "地图", "social": "社交"},
}

#: Unit -> Chinese name (the English is o2o_ops.units.UNITS[unit].label).
UNITS_ZH = {"count": "计数", "currency": "金额", "percent": "百分比", "hours": "小时", "minutes": "分钟",
            "stars": "星级（1–5）", "star_gap": "星级（差值）", "score": "0–100 分", "ratio": "比率（百分比）",
            "per_item": "每项数量"}

#: Input (o2o_ops.coverage.WORDS) -> Chinese, for "not provided: no ... imported".
COVERAGE_ZH = {
    "orders": "订单", "redemptions": "核销", "reviews": "评价", "refunds": "退款", "costs": "成本",
    "campaigns": "活动", "customers": "顾客", "orders.discount_amount": "折扣金额", "orders.platform_fee": "平台服务费",
    "orders.valid_until": "券有效期（valid_until）", "redemptions.wait_minutes": "等待时间",
    "redemptions.extra_spend": "到店额外消费", "reviews.as_described": "描述相符的回答",
    "reviews.complaint_category": "投诉类别", "stores.listed_rating": "展示评分", "stores.listed_wait_minutes": "承诺等待",
    "stores.capacity_per_hour": "门店接待能力", "orders.promised_at": "承诺时间",
    "orders.promised_wait_minutes": "订单承诺等待", "store_hours": "营业时间", "inspections": "巡检",
    "inspections.score": "巡检分数", "inspections.violations_critical": "严重违规计数",
    "inspections.violations_major": "违规计数", "inspections.violations_minor": "违规计数",
    "events": "线上漏斗事件",
    # inputs the KPIs read that coverage words only as part of an alternative
    "orders.list_price": "原价", "events.campaign_id": "事件所属活动", "events.customer_id": "事件所属顾客",
}

WORDS: dict[str, tuple[str, str]] = {}


def _add(section: str, entries: dict[str, tuple[str, str]]) -> None:
    for key, pair in entries.items():
        full = f"{section}.{key}"
        assert full not in WORDS, full
        WORDS[full] = pair


_add("note", {
    "not_provided": ("not provided", "未提供"),
    "too_few_reviews": ("too few reviews ({count})", "评价太少（{count} 条）"),
    "no_imported": ("no {what} imported", "未导入{what}"),
    "no_for_stores": ("no {what} for the filtered stores", "所筛选门店没有{what}"),
    "cover_only": ("{what} cover {first} – {last} only", "{what}只覆盖 {first} – {last}"),
})

_add("card", {   # a KPI card's help when its value or change is shown short (o2o_ops.units.format_card)
    "exact_value": ("Exact value: {value}.", "精确值：{value}。"),
    "exact_change": ("Exact change: {change}.", "精确变化：{change}。"),
    "exact_both": ("Exact value: {value}; change {change}.", "精确值：{value}；变化 {change}。"),
})

_add("filters", {
    "many_cities": ("{count} cities", "{count} 个城市"),
    "many_districts": ("{count} districts", "{count} 个区县"),
    "many_regions": ("{count} regions", "{count} 个大区"),
    "many_categories": ("{count} categories", "{count} 个品类"),
    "many_stores": ("{count} stores", "{count} 家门店"),
    "many_channels": ("{count} channels", "{count} 个渠道"),
    "many_campaign_kinds": ("{count} campaign kinds", "{count} 种活动类型"),
    "many_campaigns": ("{count} campaigns", "{count} 个活动"),
    "first_order": ("first order", "首单"),
    "latest_order": ("latest order", "最新订单"),
    "region": ("region {region}", "{region} 大区"),
    "many_scope": ("{count} stores or regions", "{count} 个门店或大区"),
    "within": ("within {within}", "范围：{within}"),
    "all_data": ("All data", "全部数据"),
})

_add("compare", {
    "previous": ("Previous period", "上一期"),
    "yoy": ("Same period last year", "去年同期"),
    "holiday": ("Same holiday last year", "去年同一节假日"),
    "ptd": ("Month to date", "月初至今"),
    "describe": ("{current} against {previous} ({note})", "{current} 对比 {previous}（{note}）"),
    "note_months": ("the calendar months before", "之前的自然月"),
    "note_equal": ("the period of equal length just before", "紧接其前的等长时段"),
    "note_yoy": ("the same ISO weeks and weekdays last year", "去年相同的 ISO 周和星期"),
    "note_mtd": ("month to date against the same days of the month before", "本月至今对比上月相同天数"),
    "note_wtd": ("week to date against the same days of the week before", "本周至今对比上周相同天数"),
    "note_holiday": ("{name} starts {this_year}, last year {last_year}: the same days around it",
                     "{name}始于 {this_year}，去年为 {last_year}：取其前后相同的天数"),
    "note_no_holiday": ("no holiday of the calendar {country} starts in this period: the same ISO weeks last year",
                        "本期没有 {country} 日历中的节假日开始：取去年相同的 ISO 周"),
})

_add("nav", {
    "weekly": ("Weekly", "每周"),
    "operations": ("Operations", "运营"),
    "reference": ("Reference", "参考"),
    "overview": ("Weekly overview", "每周概览"),
    "quality": ("Service quality", "服务质量"),
    "cost": ("Cost", "成本"),
    "efficiency": ("Operational efficiency", "运营效率"),
    "symmetry": ("Online-offline symmetry", "线上线下一致性"),
    "map": ("Store map", "门店地图"),
    "campaigns": ("Campaigns", "营销活动"),
    "data": ("Data", "数据"),
    "definitions": ("KPI definitions", "指标定义"),
    "alerts": ("Alerts", "预警"),
})

_add("frame", {
    "language": ("Language", "语言"),
    "bad_lang": ("The link's lang={value} is not a language o2o-ops speaks ({langs}); using the default.",
                 "链接中的 lang={value} 不是 o2o-ops 支持的语言（{langs}）；使用默认语言。"),
    "filters": ("Filters", "筛选"),
    "no_dates": ("No orders yet, so no dates to pick: import orders on the Data page.",
                 "还没有订单，所以没有可选日期：请在“数据”页导入订单。"),
    "order_dates": ("Order dates", "下单日期"),
    "order_dates_help": ("Orders count by the day they were placed; costs by their own date.",
                         "订单按下单日计，成本按其自身日期计。"),
    "city": ("City", "城市"),
    "all_cities": ("All cities", "全部城市"),
    "category": ("Category", "品类"),
    "all_categories": ("All categories", "全部品类"),
    "channel": ("Channel", "渠道"),
    "all_channels": ("All channels", "全部渠道"),
    "campaign_kind": ("Campaign kind", "活动类型"),
    "all_kinds": ("All kinds", "全部类型"),
    "store": ("Store", "门店"),
    "all_stores": ("All stores", "全部门店"),
    "compare_with": ("Compare with", "对比"),
    "compare_help": ("What the cards' changes and the trends' dotted line compare with: the previous period, the "
                     "same ISO weeks last year, the same public holiday last year, or month to date against the "
                     "same days of the month before.",
                     "卡片上的变化和趋势图虚线对比的对象：上一期、去年相同的 ISO 周、去年同一公共节假日，或本月至今对比上月相同天数。"),
    "data_up_to": ("data up to {when}", "数据截至 {when}"),
    "no_orders_yet": ("no orders yet", "还没有订单"),
    "empty_warehouse": ("This warehouse has no orders yet, so there is nothing to show here. Import orders on the "
                        "Data page (or with `python -m o2o_ops import-dir FOLDER`).",
                        "这个数据仓库还没有订单，所以这里没有可显示的内容。请在“数据”页导入订单"
                        "（或使用 `python -m o2o_ops import-dir FOLDER`）。"),
    "what_orders": ("orders", "订单"),
    "no_match": ("No {what} match these filters ({filters}).", "没有符合这些筛选条件的{what}（{filters}）。"),
    "widen": ("Widen the dates or clear a filter in the sidebar.", "请在侧边栏放宽日期或清除某个筛选条件。"),
    "sentence_end": (".", "。"),
    "provisional_help": ("Provisional: this period's vouchers can still be used, reviewed or refunded.",
                         "暂定：本期的券仍可能被使用、评价或退款。"),
    "provisional_equal_age_help": ("Provisional: this period's vouchers can still be used, reviewed or refunded, "
                                   "so the change is against the previous period at the same age.",
                                   "暂定：本期的券仍可能被使用、评价或退款，所以变化是与对比期在相同“时长”时相比。"),
    "at_equal_age": ("at equal age", "同龄对比"),
    "changes_compare": ("Changes compare {comparison}", "变化对比：{comparison}"),
    "provisional_marks": ("; {mark} marks a provisional KPI (this period's vouchers can still be used or reviewed), "
                          "compared with that period as it stood at the same age.",
                          "；{mark} 表示暂定指标（本期的券仍可能被使用或评价），与对比期在相同时长时的数值相比。"),
    "download_csv": ("Download CSV", "下载 CSV"),
    "opening": ("Opening {what}…", "正在打开 {what}…"),
    "kpi_help": ("{description} ({unit})", "{description}（{unit}）"),
})

_add("error", {
    "timeout_head": ("The query took too long; narrow the filters.", "查询耗时过长；请缩小筛选范围。"),
    "timeout": ("Pick fewer weeks, one city or one category; whoever runs o2o-ops can raise the limit (setting "
                "O2O_QUERY_TIMEOUT_S, now {limit} s).",
                "请选择更少的周、一个城市或一个品类；o2o-ops 的管理员可以提高上限（设置 O2O_QUERY_TIMEOUT_S，当前 {limit} 秒）。"),
    "permission": ("The warehouse file or its folder cannot be read or written (permission denied). Whoever runs "
                   "o2o-ops should check the file's permissions.",
                   "无法读写数据仓库文件或其文件夹（权限被拒绝）。请 o2o-ops 的管理员检查文件权限。"),
    "io": ("The warehouse file could not be read: it may be damaged or being replaced. Reload the page; if it keeps "
           "happening, re-import your data or rebuild the demo (`python -m o2o_ops demo`).",
           "无法读取数据仓库文件：它可能已损坏或正在被替换。请刷新页面；如果一直出现，请重新导入数据或重建演示数据"
           "（`python -m o2o_ops demo`）。"),
    "unexpected": ("Something went wrong while showing this page, and it has been logged as error {reference}. Try "
                   "again or change the filters; if it keeps happening, tell whoever runs o2o-ops and quote "
                   "{reference}.",
                   "显示此页面时出错，已记录为错误 {reference}。请重试或更改筛选条件；如果一直出现，请告知 o2o-ops 的管理员并提供 "
                   "{reference}。"),
})

_add("attention", {
    "rule": ("A store needs attention when its listed rating is {rating_gap} ★ or more above its reviews, its waits "
             "are {wait_gap} min or more over the promise, or its symmetry index fell {index_drop} points or more "
             "over the last {weeks} weeks (against the {weeks} before), among stores with at least {min_reviews} "
             "reviews.",
             "门店需要关注的条件：展示评分比实际评价高出 {rating_gap} ★ 或以上，或等待时间超出承诺 {wait_gap} 分钟或以上，"
             "或一致性指数在最近 {weeks} 周（对比之前 {weeks} 周）下降 {index_drop} 分或以上；只评判至少有 {min_reviews} "
             "条评价的门店。"),
    "left_out": ("{count} stores were left out: fewer than {min_reviews} reviews, too little evidence to judge.",
                 "{count} 家门店未参与评判：评价少于 {min_reviews} 条，证据不足。"),
    "listed": ("listed {listed}, customers give {actual}", "标示 {listed} 分，顾客实际 {actual} 分"),
    "waits_over": ("waits {minutes} min over the promise", "等待比承诺多 {minutes} 分钟"),
    "waits_under": ("waits {minutes} min under the promise", "等待比承诺少 {minutes} 分钟"),
    "waits_over_promised": ("waits {minutes} min over the promised {promised}",
                            "等待比承诺的 {promised} 分钟多 {minutes} 分钟"),
    "waits_under_promised": ("waits {minutes} min under the promised {promised}",
                             "等待比承诺的 {promised} 分钟少 {minutes} 分钟"),
    "described": ("only {share}% say it was as described", "只有 {share}% 认为与描述相符"),
    "fell": ("symmetry index fell {drop} points in {weeks} weeks ({before} → {now})",
             "一致性指数 {weeks} 周内下降 {drop} 分（{before} → {now}）"),
    "separator": ("; ", "，"),
})

_add("targets", {
    "scope_business": ("the whole business", "全公司"),
    "scope_store": ("store {id}", "门店 {id}"),
    "scope_region": ("region {id}", "{id} 大区"),
    "met": ("met", "达成"),
    "missed": ("missed", "未达成"),
    "goal_plain": ("target {goal} {verdict}", "目标 {goal}，{verdict}"),
    "goal_share": ("{share} of the {goal} target ({verdict})", "为目标 {goal} 的 {share}（{verdict}）"),
    # a KPI where lower is better (refund rate, cost per redemption): its target is a ceiling. "60% of
    # the 20.0% target" read as a refund rate of 12%, under the target, where it was 33%, over it
    "goal_ceiling": ("target ≤ {goal} ({verdict})", "目标 ≤ {goal}（{verdict}）"),
    "sentence": ("Targets for {scope} in {period}: {met} of {judged} met — {items}.",
                 "{scope}在 {period} 的目标：{judged} 项中达成 {met} 项 —— {items}。"),
})

_add("weekly", {
    "bad_week": ("The link's week {value} is not an ISO week like 2026-W47. Showing {default} instead.",
                 "链接中的周 {value} 不是 2026-W47 这样的 ISO 周。改为显示 {default}。"),
    "week_outside": ("Week {week} is outside the data ({span}); showing {default} instead.",
                     "第 {week} 周不在数据范围内（{span}）；改为显示 {default}。"),
    "no_orders": ("No orders in {week} match these filters ({filters}), so there is nothing to summarise. Pick "
                  "another week or clear a filter.",
                  "{week} 没有符合这些筛选条件（{filters}）的订单，所以没有可总结的内容。请选择其他周或清除某个筛选条件。"),
    "volume_alone": ("In {week} there were {orders} orders and {revenue} revenue. {previous} has no orders for these "
                     "filters, so there is no week-over-week comparison.",
                     "{week} 共有 {orders} 笔订单，营收 {revenue}。{previous} 在这些筛选条件下没有订单，所以没有周环比。"),
    "volume": ("In {week} there were {orders} orders ({orders_change} on {previous}) and {revenue} revenue"
               "{revenue_change}.",
               "{week} 共有 {orders} 笔订单（较 {previous} {orders_change}），营收 {revenue}{revenue_change}。"),
    "relative": (" ({change})", "（{change}）"),
    "none_in": (" (none in {week})", "（{week} 为零）"),
    "ends_before": ("the data ends on {day}, before its Sunday", "数据截至 {day}，早于该周周日"),
    "ends_sunday": ("the data ends on {day}, its Sunday", "数据截至 {day}，即该周周日"),
    "ends_after_one": ("the data ends on {day}, {age} day after its Sunday", "数据截至 {day}，即该周周日后 {age} 天"),
    "ends_after": ("the data ends on {day}, {age} days after its Sunday", "数据截至 {day}，即该周周日后 {age} 天"),
    "provisional": ("{week} is provisional: {ends}, so some of its vouchers are not used or reviewed yet",
                    "{week} 为暂定：{ends}，其中部分券尚未使用或评价"),
    "provisional_compared": ("; {labels} are compared with {previous} as it stood at the same age (equal age), not "
                             "with its final values",
                             "；{labels}与 {previous} 在相同时长时的数值对比（同龄对比），而非其最终值"),
    "improvement": ("an improvement", "属于改善"),
    "deterioration": ("a deterioration", "属于恶化"),
    "neutral": ("neither good nor bad in itself", "本身无所谓好坏"),
    "biggest_move": ("The biggest move against its usual week-to-week swing was {label}: {before} → {after} "
                     "({change}), {verdict}.",
                     "相对平时的周波动，变化最大的是{label}：{before} → {after}（{change}），{verdict}。"),
    "moved_most": (" It moved most {drivers}.", "变化最大的是：{drivers}。"),
    "also_worse": ("Also worse than {previous}: {items}.", "比 {previous} 变差的还有：{items}。"),
    "better": ("Better than {previous}: {items}.", "比 {previous} 变好的有：{items}。"),
    "moved_item": ("{label} ({change})", "{label}（{change}）"),
    "dim_city": ("city", "城市"),
    "dim_category": ("category", "品类"),
    "dim_store": ("store", "门店"),
    "driver_share": ("by {dim}, {who} ({change}, {share} of the change)", "{dim} {who}（{change}，占变化的 {share}）"),
    "driver_move": ("by {dim}, {who} ({before} → {after})", "{dim} {who}（{before} → {after}）"),
    "list_separator": (", ", "、"),
    "list_and": (" and ", "和"),
    "no_attention": ("No store needs attention this week.", "本周没有需要关注的门店。"),
    "none_judged": ("No store could be judged for attention this week: {why}.", "本周无法判断是否有门店需要关注：{why}。"),
    "none_ranked": ("No store could be ranked this week: {why}.", "本周无法为门店排名：{why}。"),
    "too_few_everywhere": ("every store had fewer than {min_reviews} reviews",
                           "每家门店的评价都少于 {min_reviews} 条"),
    "no_review_anywhere": ("no store had a review", "没有门店有评价"),
    "attention_item": ("{name} ({id}, {city}): {reason}, symmetry index {index}",
                       "{name}（{id}，{city}）：{reason}，一致性指数 {index}"),
    "attention": ("Stores that need attention: {items}.", "需要关注的门店：{items}。"),
    "item_separator": ("; ", "；"),
    "lowest_rated": ("Lowest rated this week: {name} ({id}, {city}) at {rating} from {reviews} reviews.",
                     "本周评分最低：{name}（{id}，{city}），{reviews} 条评价平均 {rating}。"),
})

_add("anomaly", {
    "more_in_hover": ("… and {count} more unusual store-weeks", "……另有 {count} 个异常门店周"),
    "title": ("Unusual store-weeks", "异常的门店周"),
    "caption": ("Store-weeks whose {labels} is far from what is expected for that store in a week like this (its own "
                "trend, its category's week — holidays included); circled on the weekly charts above. {filters}.",
                "{labels}远离该门店在这样一周的预期（其自身趋势、其品类当周的情况——含节假日）的门店周；已在上方每周图表中圈出。"
                "{filters}。"),
    "none": ("No store-week in this scope is unusual for its store.", "此范围内没有异常的门店周。"),
    "none_judged": ("No store-week in this scope could be judged: {reasons}.", "此范围内没有可判断的门店周：{reasons}。"),
    "not_judged": ("Not judged: {reasons}.", "未判断：{reasons}。"),
    "unjudged_kpi": ("{label} ({why})", "{label}（{why}）"),
    "too_few": ("no store had a whole week with {count} {noun}", "没有门店在完整的一周内有 {count} {noun}"),
    "noun_orders": ("orders", "笔订单"),
    "noun_avg_wait_minutes": ("timed waits", "次计时等待"),
    "noun_avg_rating": ("reviews", "条评价"),
    "noun_refund_rate": ("paid orders", "笔已付款订单"),
    "all": ("All {count} unusual store-weeks", "全部 {count} 个异常门店周"),
    "download": ("Download unusual store-weeks (CSV)", "下载异常门店周（CSV）"),
    "times": ("{times}× ", "{times} 倍"),
    "share_of": ("{share}% of ", "{share}%"),
    "orders": ("{value} orders, {size}the {expected} expected", "{value} 笔订单，为预期 {expected} 笔的 {size}"),
    "refund_rate": ("refund rate {value}% against {expected}% expected", "退款率 {value}%，预期 {expected}%"),
    "other": ("{label} {value} {unit} against {expected} expected", "{label} {value} {unit}，预期 {expected}"),
    "better": (" — better than usual", " —— 好于平常"),
    "worse": (" — worse than usual", " —— 差于平常"),
    "above": ("above", "高于"),
    "below": ("below", "低于"),
    "reason": ("{store} in {week}: {what} for this store in this week (its own trend and its category's week taken "
               "into account; {z} spreads {side}){judgement}.",
               "{store} 在 {week}：{what}（已考虑其自身趋势和品类当周情况；{side}预期 {z} 个典型波动幅度）{judgement}。"),
})

_add("overview", {
    "dates_note": ("the sidebar date range does not apply here: pick the week below",
                   "侧边栏的日期范围不适用于此页：请在下方选择周"),
    "week": ("Week", "周"),
    "week_help": ("ISO weeks, Monday to Sunday. The default is the last complete week in the data.",
                  "ISO 周，周一至周日。默认是数据中最近一个完整的周。"),
    "download_report": ("Download report (HTML)", "下载报告（HTML）"),
    "download_report_help": ("The same week and filters as one self-contained HTML file.",
                             "相同的周和筛选条件，保存为一个独立的 HTML 文件。"),
    "headline": ("Headline KPIs — {week}", "核心指标 —— {week}"),
    "against": ("against {week}", "对比 {week}"),
    "cards_caption": ("Change {compared_with}; green is good news for that KPI, red is bad. Sparklines: the {weeks} "
                      "weeks ending with this one.",
                      "变化：{compared_with}；绿色表示该指标向好，红色表示变差。迷你图：截至本周的 {weeks} 周。"),
    "provisional_caption": (" {mark} provisional: this week's vouchers can still be used or reviewed, so these KPIs "
                            "are compared with the other period as it stood at the same age (equal age).",
                            " {mark} 暂定：本周的券仍可能被使用或评价，所以这些指标与对比期在相同时长时的数值相比（同龄对比）。"),
    "summary": ("Summary", "总结"),
    "trends": ("{weeks}-week trends", "{weeks} 周趋势"),
    "best_worst": ("Best and worst stores of the week", "本周最佳和最差门店"),
    "ranked_caption": ("Only stores with at least {min_reviews} reviews of orders placed in the week are ranked",
                       "只对本周订单至少有 {min_reviews} 条评价的门店排名"),
    "left_out_one": (" ({count} store was left out)", "（{count} 家门店未参与）"),
    "left_out": (" ({count} stores were left out)", "（{count} 家门店未参与）"),
    "open_caption": (". Tick a row (or use its Open link) for the store's symmetry view of this week.",
                     "。勾选一行（或点击其“打开”链接）查看该门店本周的一致性视图。"),
    "col_store": ("Store", "门店编号"),
    "col_name": ("Name", "名称"),
    "col_listed_rating": ("Listed rating", "展示评分"),
    "col_why": ("Why", "原因"),
    "col_view": ("Store view", "门店视图"),
    "open": ("Open", "打开"),
    "by": ("By {kpi}", "按{kpi}"),
    "best": ("Best 5 by {kpi}", "{kpi}最佳 5 家"),
    "worst": ("Worst 5 by {kpi}", "{kpi}最差 5 家"),
    "attention": ("Symmetry attention list", "一致性关注清单"),
    "attention_caption": ("Stores whose online promise ran ahead of the offline experience this week. {rule} "
                          "{left_out} The symmetry page has the full analysis, under the same rule.",
                          "本周线上承诺超出线下体验的门店。{rule}{left_out}完整分析见“线上线下一致性”页，规则相同。"),
})

_add("charts", {
    "no_orders_weeks": ("No orders in these weeks for these filters", "在这些筛选条件下，这几周没有订单"),
})

_add("definitions", {
    "higher": ("higher", "越高越好"),
    "lower": ("lower", "越低越好"),
    "yes": ("yes", "是"),
    "no": ("no", "否"),
})

_add("report", {
    "no_data_chart": ("No data", "无数据"),
    "by_week": ("{label} by week", "{label}（按周）"),
    "store": ("Store", "门店"),
    "city": ("City", "城市"),
    "vs": ("vs {week}", "对比 {week}"),
    "at_equal_age": (" at equal age", "（同龄对比）"),
    "provisional": (" · provisional", " · 暂定"),
    "title": ("Weekly operations report — {week}", "每周运营报告 —— {week}"),
    "week_label": ("Week:", "周："),
    "week_line": ("{week}, compared with {previous}.", "{week}，对比 {previous}。"),
    "filters_label": ("Filters:", "筛选："),
    "filters_line": ("{filters} (the week sets the dates).", "{filters}（日期由所选周决定）。"),
    "data_up_to_label": ("Data up to:", "数据截至："),
    "data_up_to": ("{when} · generated {generated}", "{when} · 生成于 {generated}"),
    "no_orders": ("no orders", "没有订单"),
    "no_data_week": ("No data for this week.", "本周没有数据。"),
    "headline": ("Headline KPIs", "核心指标"),
    "summary": ("Summary", "总结"),
    "trends": ("13-week trends ({first} → {week})", "13 周趋势（{first} → {week}）"),
    "dot_note": ("The large dot is {week}: green when its change on the week before is good news, red when bad.",
                 "大圆点为 {week}：较前一周的变化向好为绿色，变差为红色。"),
    "best_worst": ("Best and worst stores of the week", "本周最佳和最差门店"),
    "left_out": (" ({count} left out)", "（{count} 家未参与）"),
    "ranked_note": ("Only stores with at least {min_reviews} reviews of orders placed in the week are "
                    "ranked{left_out}.", "只对本周订单至少有 {min_reviews} 条评价的门店排名{left_out}。"),
    "best_by": ("Best by {kpi}", "{kpi}最佳"),
    "worst_by": ("Worst by {kpi}", "{kpi}最差"),
    "no_best": ("No store has enough reviews.", "没有门店有足够的评价。"),
    "no_worst": ("Too few stores to name a worst.", "门店太少，无法列出最差。"),
    "attention": ("Symmetry attention list", "一致性关注清单"),
    "attention_order": ("Rating over-promisers first (largest gap), then the longest waits, then the biggest falls.",
                        "先列评分承诺过高的门店（落差最大者在前），再列等待最久的，再列下降最多的。"),
    "listed": ("Listed", "展示评分"),
    "reviewed": ("Reviewed", "评价评分"),
    "symmetry": ("Symmetry", "一致性"),
    "no_attention": ("No store over-promised this week.", "本周没有门店承诺过高。"),
    "appendix_a": ("Appendix A — KPI definitions", "附录 A —— 指标定义"),
    "kpi": ("KPI", "指标"),
    "area": ("Area", "领域"),
    "definition": ("Definition", "定义"),
    "unit": ("Unit", "单位"),
    "better_when": ("Better when", "方向"),
    "symmetry_doc": ("The symmetry index (0–100 per store, higher = what customers get matches what was promised) "
                     "combines four components — rating gap, wait gap, as-described rate and complaint rate — each "
                     "scored 0–1 and shrunk towards “no evidence of a gap” so that a store with few reviews is not "
                     "judged on chance; above store grain it is the redemption-weighted mean of the store indices. "
                     "The exact weights and scoring are on the KPI definitions page.",
                     "一致性指数（每家门店 0–100，越高 = 顾客得到的与承诺的越一致）由四项组成——评分落差、等待落差、"
                     "描述相符率和投诉率——每项评分 0–1，并向“没有落差的证据”收缩，避免评价很少的门店因偶然被评判；"
                     "门店以上的层级为按核销数加权的门店指数平均值。具体权重和算法见“指标定义”页。"),
    "appendix_b": ("Appendix B — Data freshness", "附录 B —— 数据新鲜度"),
    "latest_order": ("Latest order in the warehouse", "仓库中最新的订单"),
    "first_order_date": ("First order date", "最早下单日期"),
    "last_order_date": ("Last order date", "最晚下单日期"),
    "rollups_built": ("Rollups built at", "汇总表构建时间"),
    "item": ("Item", "项目"),
    "value": ("Value", "值"),
    "html_title": ("o2o-ops weekly report {week} — {filters}", "o2o-ops 每周报告 {week} —— {filters}"),
})

# Chart texts (matched on their English by o2o_ops.i18n.figures.localise; templates take {label})
_add("chart", {
    "no_data_filters": ("No data for these filters", "在这些筛选条件下没有数据"),
    "no_data": ("No data", "无数据"),
    "no_orders": ("No orders for these filters", "在这些筛选条件下没有订单"),
    "no_reviews": ("No reviews for these filters", "在这些筛选条件下没有评价"),
    "no_complaints": ("No complaints for these filters", "在这些筛选条件下没有投诉"),
    "no_refunds": ("No refunds for these filters", "在这些筛选条件下没有退款"),
    "no_costs": ("No costs for these filters", "在这些筛选条件下没有成本"),
    "no_redemptions": ("No redemptions for these filters", "在这些筛选条件下没有核销"),
    "no_waits": ("No waits recorded against a promise for these filters", "在这些筛选条件下没有对照承诺记录的等待"),
    "no_unredeemed": ("No unredeemed vouchers for these filters", "在这些筛选条件下没有未核销的券"),
    "no_capacity_stores": ("No stores with a capacity for these filters", "在这些筛选条件下没有设定接待能力的门店"),
    "no_capacity_store": ("No store with a capacity under these filters", "在这些筛选条件下没有设定接待能力的门店"),
    "no_listed_and_reviews": ("No store has both a listed rating and reviews", "没有门店同时有展示评分和评价"),
    "no_campaigns_store": ("No campaigns at this store in the period", "该门店在此期间没有活动"),
    "no_campaign_orders": ("No orders of this campaign under these filters", "在这些筛选条件下该活动没有订单"),
    "no_campaign_redemptions": ("No redemptions of this campaign under these filters", "在这些筛选条件下该活动没有核销"),
    "no_lift": ("No campaign has the data to measure lift with an interval", "没有活动有足够数据来测算带区间的增量"),
    "rating_distribution": ("Rating distribution", "评分分布"),
    "reviews": ("reviews", "评价数"),
    "rating_trend": ("Average rating and positive share by week", "每周平均评分和好评占比"),
    "stars": ("stars", "星级"),
    "positive": ("positive", "好评"),
    "complaints": ("Complaint rate by complaint category", "各投诉类别的投诉率"),
    "refund_reasons": ("Refunded orders by reason", "按原因统计的退款订单"),
    "orders_axis": ("orders", "订单数"),
    "sla": ("SLA attainment by hour of day and day of week", "按小时和星期统计的服务时效达成率"),
    "hour_of_day": ("hour of day", "一天中的小时"),
    "peer_median": ("Peer median (city × category)", "同类中位数（城市 × 品类）"),
    "store": ("Store", "门店"),
    "refund_rate_week": ("Refund rate by week", "每周退款率"),
    "repeat_rate_week": ("Repeat rate by week", "每周复购率"),
    "unusual": ("Unusual store-weeks", "异常的门店周"),
    "target": ("Target", "目标"),
    "comparison": ("Comparison", "对比"),
    "count": ("count", "数量"),
    "promise_kept": ("promise kept", "兑现承诺"),
    "listed_rating_axis": ("Listed rating (online)", "展示评分（线上）"),
    "actual_rating_axis": ("Actual rating (reviews)", "实际评分（评价）"),
    "listed_vs_actual": ("Listed vs actual rating (below the line = over-promised)",
                         "展示评分与实际评分（线下方 = 承诺过高）"),
    "deal_gap_store": ("Deal-customer gap by store (campaign − full-price rating)", "各门店优惠客评分差（活动 − 原价评分）"),
    "deal_gap_week": ("Deal-customer gap by week (campaign − full-price rating)", "每周优惠客评分差（活动 − 原价评分）"),
    "before": ("before", "活动前"),
    "during": ("during", "活动中"),
    "after": ("after", "活动后"),
    "average_rating_axis": ("Average rating", "平均评分"),
    "rating_campaigns": ("Rating before, during and after each campaign", "每个活动前、中、后的评分"),
    "cost_week": ("Cost by week and component", "每周各项成本"),
    "discounts": ("Discounts", "折扣"),
    "platform_fees": ("Platform fees", "平台佣金"),
    "marketing": ("Marketing", "营销"),
    "staff": ("Staff", "人力"),
    "other": ("Other", "其他"),
    "margin_store": ("Margin by store", "各门店毛利"),
    "funnel": ("Order funnel", "订单漏斗"),
    "orders_redemptions_day": ("Orders and redemptions per day", "每天的订单和核销"),
    "orders_placed": ("Orders placed", "下单数"),
    "redemptions_axis": ("redemptions", "核销数"),
    "time_to_redeem": ("Time from order to redemption", "从下单到核销的时间"),
    "hours_to_redeem": ("hours from order to redemption", "从下单到核销的小时数"),
    "unredeemed": ("Unredeemed vouchers by time to expiry (bars: count, labels: value)",
                   "按距过期时间统计的未核销券（柱：数量，标签：金额）"),
    "vouchers": ("vouchers", "券"),
    "utilisation_store": ("Capacity utilisation by store", "各门店产能利用率"),
    "utilisation_hour": ("Capacity utilisation by hour of day", "按小时的产能利用率"),
    "busiest": ("Busiest 7 days ahead: forecast / capacity", "未来最忙的 7 天：预测 / 接待能力"),
    "expected_redemptions": ("Redemptions expected in the next 14 days", "未来 14 天的预计核销"),
    "from_vouchers": ("from vouchers sold", "来自已售券"),
    "from_sales": ("from sales to come", "来自未来销售"),
    "capacity": ("capacity", "接待能力"),
    "sold": ("sold", "已售"),
    "to_come": ("to come", "未来销售"),
    "lift": ("Incremental lift with 95% interval", "增量提升（95% 区间）"),
    "lift_axis": ("orders vs stores without a campaign (same city, category)", "订单数对比无活动门店（同城市、同品类）"),
    "mon": ("Mon", "周一"), "tue": ("Tue", "周二"), "wed": ("Wed", "周三"), "thu": ("Thu", "周四"),
    "fri": ("Fri", "周五"), "sat": ("Sat", "周六"), "sun": ("Sun", "周日"),
    "peers_title": ("{label}: stores against their peers", "{label}：门店与同类对比"),
    "weekly_title": ("Weekly {label}", "每周{label}"),
    "by_week_title": ("{label} by week", "每周{label}"),
    "by_store_title": ("{label} by store", "各门店{label}"),
})

_add("quality", {
    "ratings": ("Ratings", "评分"),
    "complaints_refunds": ("Complaints and refunds", "投诉和退款"),
    "download_reasons": ("Download refund reasons (CSV)", "下载退款原因（CSV）"),
    "share_of_paid": ("Share of paid orders", "占已支付订单比例"),
    "sla_caption": ("By the hour the customer was in the store; channel and campaign filters do not apply here.",
                    "按顾客到店的小时统计；渠道和活动筛选不适用于此。"),
    "peers": ("Stores against their peers", "门店与同类对比"),
    "rank_by": ("Rank stores by", "门店排名依据"),
    "peer_median": ("Peer median", "同类中位数"),
    "vs_peers": ("vs peers", "与同类相比"),
    "download_ranking": ("Download ranking (CSV)", "下载排名（CSV）"),
    "by_store": ("Quality by store", "各门店服务质量"),
})

_add("symmetry", {
    "doc": ('Symmetry index (0-100 per store, higher = what customers get matches what was promised).\nFour components, each scored 0-1, shrunk towards "no evidence of a gap" so that a store with\na handful of reviews cannot swing to an extreme (empirical-Bayes style: K pseudo-observations at\nthe prior are added to the store\'s own):\n\n- rating (weight {ix.w_rating}): gap = listed rating - actual mean rating, shrunk by n/(n+{ix.k_reviews})\n  (n = reviews); score = 1 - min(1, max(gap,0)/{ix.rating_over_stars} + max(-gap,0)/{ix.rating_under_stars}). Over-promising by {ix.rating_over_stars}\n  stars scores 0; under-promising is penalised a third as hard (a mismatch, but not a broken\n  promise).\n- wait ({ix.w_wait}): gap = mean(wait - promised wait), shrunk by n/(n+{ix.k_waits}) (n = recorded waits);\n  score = 1 - min(1, max(gap,0)/{ix.wait_over_minutes:g}). {ix.wait_over_minutes:g} minutes over the promise scores 0.\n- as described ({ix.w_described}): rate = (yes + {ix.k_answers} x {ix.prior_described})/(answered + {ix.k_answers}); score = clamp((rate-{ix.described_floor})/{floor_span}).\n- complaints ({ix.w_complaints}): rate = (complaints + {ix.k_redemptions} x {ix.prior_complaints})/(redemptions + {ix.k_redemptions});\n  score = 1 - min(1, rate/{ix.complaints_ceiling}).\n\nA component whose promise is missing (no listed rating, no promised wait) is left out and the\nweights of the others are renormalised. A store with no redemptions in the period has no index,\nnor has a store with fewer reviews than the review floor (setting O2O_MIN_REVIEWS): its index\nwould be the prior alone.\nAbove store grain (total, week, city, ...) the index is the mean of the store indices weighted\nby each store\'s redemptions in the group.\n',
            '一致性指数（每家门店 0–100，越高 = 顾客得到的与承诺的越一致）。\n由四项组成，每项评分 0–1，并向“没有落差的证据”收缩，使只有少量评价的门店不会摆向极端\n（经验贝叶斯做法：在门店自身观测之外加入 K 个取先验值的虚拟观测）：\n\n- 评分（权重 {ix.w_rating}）：落差 = 展示评分 − 实际平均评分，按 n/(n+{ix.k_reviews}) 收缩\n  （n = 评价数）；得分 = 1 − min(1, max(落差,0)/{ix.rating_over_stars} + max(−落差,0)/{ix.rating_under_stars})。承诺过高 {ix.rating_over_stars}\n  星得 0 分；承诺过低的扣分只有其三分之一（是不一致，但不算违背承诺）。\n- 等待（{ix.w_wait}）：落差 = 平均(等待 − 承诺等待)，按 n/(n+{ix.k_waits}) 收缩（n = 有记录的等待次数）；\n  得分 = 1 − min(1, max(落差,0)/{ix.wait_over_minutes:g})。超出承诺 {ix.wait_over_minutes:g} 分钟得 0 分。\n- 描述相符（{ix.w_described}）：比率 = (是 + {ix.k_answers} × {ix.prior_described})/(作答数 + {ix.k_answers})；得分 = clamp((比率−{ix.described_floor})/{floor_span})。\n- 投诉（{ix.w_complaints}）：比率 = (投诉 + {ix.k_redemptions} × {ix.prior_complaints})/(核销数 + {ix.k_redemptions})；\n  得分 = 1 − min(1, 比率/{ix.complaints_ceiling})。\n\n缺少承诺的一项（没有展示评分、没有承诺等待）不计入，其余各项权重重新归一。统计期内没有核销的门店没有指数，\n评价少于评价门槛（设置 O2O_MIN_REVIEWS）的门店也没有：其指数只会是先验值。\n门店以上的层级（总计、周、城市……）的指数是组内各门店指数按核销数加权的平均值。\n'),
})

_add("symmetry", {
    "note": ("does what stores promise online match what customers get offline?", "门店线上的承诺与顾客线下的体验一致吗？"),
    "how_scored": ("How the symmetry index is scored", "一致性指数如何计算"),
    "tab_stores": ("Stores", "门店"),
    "tab_attention": ("Attention list", "关注清单"),
    "tab_deal": ("Deal customers", "优惠客"),
    "tab_drill": ("Store drill", "门店详情"),
    "tick_store": ("Tick a store's row, or click its marker in the chart, for its own view (the Store drill tab); "
                   "the browser's Back returns here.",
                   "勾选门店所在行，或点击图中的门店标记，查看该门店自己的视图（“门店详情”标签）；浏览器的“后退”会回到这里。"),
    "min": ("min", "分钟"),
    "listed_help": ("Rating shown online", "线上展示的评分"),
    "actual_rating": ("Actual rating", "实际评分"),
    "promised_wait": ("Promised wait", "承诺等待"),
    "actual_wait": ("Actual wait", "实际等待"),
    "actual_wait_help": ("Promised wait + wait gap: the mean recorded wait", "承诺等待 + 等待落差：记录的平均等待"),
    "stores_caption": ("One row per store, worst symmetry first · {filters}", "每家门店一行，一致性最差的在前 · {filters}"),
    "thin": (" · {count} stores with fewer than {floor} reviews show no rating or index (too little evidence) and come "
             "last", " · {count} 家评价少于 {floor} 条的门店不显示评分和指数（证据不足），排在最后"),
    "promise_title": ("Late against the order's own promise", "超出订单自身承诺"),
    "no_promises": ("Not provided: no order carries a promise of its own (orders.promised_at or "
                    "orders.promised_wait_minutes in the warehouse contract).",
                    "未提供：没有订单带有自身的承诺（仓库约定中的 orders.promised_at 或 orders.promised_wait_minutes）。"),
    "no_promise_due": ("No order's promise is due in this view · {filters}", "此视图中没有到期的订单承诺 · {filters}"),
    "promises_caption": ("One row per store with a promise due, latest first · {filters}",
                         "每家有到期承诺的门店一行，超时最多的在前 · {filters}"),
    "inspections_title": ("Online rating against offline inspections", "线上评分与线下巡检对比"),
    "no_inspections": ("Not provided: the warehouse holds no inspections (the optional table inspections of the "
                       "warehouse contract).", "未提供：仓库中没有巡检记录（仓库约定中的可选表 inspections）。"),
    "none_inspected": ("No store with orders was inspected in this view · {filters}",
                       "此视图中没有有订单的门店被巡检 · {filters}"),
    "failing": ("{failing} of {inspected} inspected stores failed at least one inspection; they come first, the "
                "highest online rating first · {filters}",
                "{inspected} 家被巡检门店中有 {failing} 家至少一次未通过；它们排在前面，线上评分最高的在前 · {filters}"),
    "gap_slider": ("Flag over-promising by at least (stars)", "承诺过高至少多少时标记（星）"),
    "drop_slider": ("Flag a symmetry-index fall over {weeks} weeks of at least (points)",
                    "{weeks} 周内一致性指数下降至少多少时标记（分）"),
    "none_judged": ("No store has enough reviews to be judged under these filters.", "在这些筛选条件下，没有门店有足够的评价可供评判。"),
    "none_judged_why": ("No store can be judged for attention: {why}.", "无法判断是否有门店需要关注：{why}。"),
    "none_flagged": ("No store over-promises its rating or wait by that much, or lost that many index points. ✓",
                     "没有门店的评分或等待承诺过高到这个程度，也没有门店的指数下降这么多。✓"),
    "flagged_one": ("{count} store · rating over-promisers first (largest gap), then the longest waits, then the "
                    "biggest falls · last {weeks} weeks vs the {weeks} before",
                    "{count} 家门店 · 先列评分承诺过高的（落差最大者在前），再列等待最久的，再列下降最多的 · 最近 {weeks} 周对比之前 {weeks} 周"),
    "flagged": ("{count} stores · rating over-promisers first (largest gap), then the longest waits, then the "
                "biggest falls · last {weeks} weeks vs the {weeks} before",
                "{count} 家门店 · 先列评分承诺过高的（落差最大者在前），再列等待最久的，再列下降最多的 · 最近 {weeks} 周对比之前 {weeks} 周"),
    "fall_points": ("Fall (points)", "下降（分）"),
    "deal_caption": ("Deal-customer gap = average rating of campaign orders − average rating of full-price orders; "
                     "negative = deal customers are less happy. Stores with no campaign reviews are left out.",
                     "优惠客评分差 = 活动订单的平均评分 − 原价订单的平均评分；负数 = 优惠客更不满意。没有活动评价的门店不计入。"),
    "no_gap": ("No gap between promise and delivery worth a mention.", "承诺与交付之间没有值得一提的落差。"),
    "nothing_compared": ("Nothing to hold against the promise: {why}.", "无法与承诺对照：{why}。"),
    "nothing_compared_plain": ("Nothing to hold against the promise: neither a rating nor a wait could be compared.",
                               "无法与承诺对照：评分和等待都无法比较。"),
    "low_rated": ("**Recent low-rated reviews** (rating ≤ {rating}), newest first", "**近期低分评价**（评分 ≤ {rating}），最新的在前"),
    "analysts_only": ("Reviews with their orders are shown to analysts only; the store's ratings are above.",
                      "带订单的评价只对分析师显示；门店的评分见上方。"),
    "no_low_rated": ("No low-rated reviews for this store in the period.", "该门店在此期间没有低分评价。"),
    "trend_thin": ("Fewer than {min_reviews} reviews in every week: no weekly index",
                   "每周的评价都少于 {min_reviews} 条：没有每周指数"),
    "page_of": ("Page (of {pages}; {total} reviews)", "页码（共 {pages} 页；{total} 条评价）"),
    "wait": ("Wait", "等待"),
})

_add("map", {
    "note": ("no basemap needed: works offline", "无需底图：可离线使用"),
    "colour_by": ("Colour stores by", "门店着色依据"),
    "layers": ("Layers", "图层"),
    "layer_stores": ("Stores", "门店"),
    "layer_activity": ("Redemption activity", "核销热度"),
    "layer_attention": ("Attention list", "关注清单"),
    "layer_load": ("Load ahead", "未来负荷"),
    "none_placed": ("No store of the {count} with orders under these filters has coordinates (latitude/longitude), "
                    "so there is nothing to place on the map. Add them to the stores file to see the map.",
                    "在这些筛选条件下有订单的 {count} 家门店都没有坐标（纬度/经度），所以地图上无可显示。请在门店文件中补充坐标。"),
    "no_orders_yet": ("This warehouse has no orders yet: its {count} stores are drawn in grey where their coordinates "
                      "put them, so you can check the positions. Their KPIs appear once orders are imported on the "
                      "Data page.",
                      "这个数据仓库还没有订单：{count} 家门店按其坐标以灰色绘出，方便核对位置。在“数据”页导入订单后即显示各项指标。"),
    "none_placed_no_orders": ("No store of the {count} has coordinates (latitude/longitude), so there is nothing "
                              "to place on the map. Add them to the stores file to see the map.",
                              "{count} 家门店都没有坐标（纬度/经度），所以地图上无可显示。请在门店文件中补充坐标。"),
    "no_layer": ("Switch on at least one layer above.", "请在上方至少打开一个图层。"),
    "layer_why": ("{layer} draws nothing: {why}.", "{layer}无可显示：{why}。"),
    "unjudged": ("no store judged for attention ({why})", "没有门店可判断是否需要关注（{why}）"),
    "alt": ("Map of {count} stores coloured by {kpi}", "{count} 家门店的地图，按{kpi}着色"),
    "why_evidence": ("too few reviews or not provided", "评价太少或未提供"),
    "why_undefined": ("not provided or undefined", "未提供或无定义"),
    "ahead": (" · {count} forecast over capacity in the next {days} days (orange ring)",
              " · {count} 家预计在未来 {days} 天超负荷（橙色圈）"),
    "caption_one": ("{count} store · {flagged} need attention now (red ring: the attention rule{judged}){ahead} · "
                    "glow = redemptions ",
                    "{count} 家门店 · {flagged} 家现在需要关注（红色圈：关注规则{judged}）{ahead} · 光晕 = 核销 "),
    "caption": ("{count} stores · {flagged} need attention now (red ring: the attention rule{judged}){ahead} · "
                "glow = redemptions ",
                "{count} 家门店 · {flagged} 家现在需要关注（红色圈：关注规则{judged}）{ahead} · 光晕 = 核销 "),
    "caption_unjudged": ("{count} stores · {unjudged}{ahead} · glow = redemptions ",
                         "{count} 家门店 · {unjudged}{ahead} · 光晕 = 核销 "),
    "caption_one_unjudged": ("{count} store · {unjudged}{ahead} · glow = redemptions ",
                             "{count} 家门店 · {unjudged}{ahead} · 光晕 = 核销 "),
    "caption_cities": ("{cities} cities, {count} stores · bubble size = orders, colour = the city's {kpi} · red outline: "
                       "{flagged} stores need attention now (the attention rule{judged}) · click a city for its stores",
                       "{cities} 个城市，{count} 家门店 · 气泡大小 = 订单数，颜色 = 城市的{kpi} · 红色外圈：{flagged} "
                       "家门店现在需要关注（关注规则{judged}） · 点击城市查看其门店"),
    "caption_cities_unjudged": ("{cities} cities, {count} stores · bubble size = orders, colour = the city's {kpi} · "
                                "{unjudged} · click a city for its stores",
                                "{cities} 个城市，{count} 家门店 · 气泡大小 = 订单数，颜色 = 城市的{kpi} · {unjudged} · "
                                "点击城市查看其门店"),
    "judged": (" in {start} – {end}", "，{start}至{end}"),
    "show": ("Show", "显示"),
    "show_help": ("Auto: cities when the map spans several, stores within one city.",
                  "自动：地图跨多个城市时显示城市，在一个城市内显示门店。"),
    "level_auto": ("Auto", "自动"),
    "level_cities": ("Cities", "城市"),
    "level_stores": ("Stores", "门店"),
    "no_tiles": ("The map is drawn without a basemap (setting O2O_MAP_TILES).", "地图不带底图绘制（设置 O2O_MAP_TILES）。"),
    "grey": ("· {count} grey: no {kpi} ({why}), left out of the colour scale ",
             "· {count} 家为灰色：没有{kpi}（{why}），不计入色阶 "),
    "click": ("· click a store, or shift-drag a box, to filter every page to the selection",
              "· 点击门店，或按住 Shift 拖出方框，即可把所有页面筛选到所选门店"),
    "selected": ("Selected:", "已选："),
    "unlocated": ("{count} stores have no coordinates (latitude/longitude missing or 0, 0), so they are not on the "
                  "map; add them to the stores file to place them.",
                  "{count} 家门店没有坐标（纬度/经度缺失或为 0, 0），所以不在地图上；请在门店文件中补充坐标。"),
    "without_coordinates": ("Stores without coordinates ({count})", "没有坐标的门店（{count}）"),
})

_add("definitions", {
    "note": ("generated from the KPI registry", "由指标注册表生成"),
    "intro": ("Every number in o2o-ops comes from this registry. A ratio is always the sum of its numerator over the "
              "sum of its denominator for the filtered orders, and is blank (—) when the denominator is zero. *kind* "
              "says how it is computed (sum, ratio, difference of two ratios, median, index); *needs* lists the "
              "tables and optional columns it reads; *matures* says whether a period's value keeps changing "
              "afterwards, as its orders are redeemed, reviewed or refunded.",
              "o2o-ops 中的每个数字都来自这份注册表。比率总是所筛选订单的分子之和除以分母之和，分母为零时留空（—）。"
              "*计算方式* 说明如何计算（求和、比率、两个比率之差、中位数、指数）；"
              "*所需数据* 列出它读取的表和可选列；*会变化* 说明某期的数值在之后是否仍会随订单核销、评价或退款而变化。"),
    "name": ("Name", "代码"),
    "kind": ("Kind", "计算方式"),
    "needs": ("Needs", "所需数据"),
    "matures": ("Matures", "会变化"),
})

_add("cost", {
    "over_time": ("Cost over time", "成本走势"),
    "not_in_chart": ("Not in the chart: {components} — {why}.", "图中未包含：{components} —— {why}。"),
    "none_provided": ("No cost of any kind was provided: see below", "未提供任何成本：见下文"),
    "by_group": ("By channel or campaign kind", "按渠道或活动类型"),
    "break_down_by": ("Break down by", "细分维度"),
    "cpr_cac_by": ("Cost per redemption and CAC by {group}", "按{group}的单次核销成本和获客成本"),
    "roi_by": ("ROI by {group}", "按{group}的投资回报率"),
    "staff_rent": ("Staff and rent carry no channel or campaign, so they are not in these groups.",
                   "人力和租金不属于任何渠道或活动，所以不在这些分组中。"),
    "stores": ("Stores: revenue, cost and margin", "门店：营收、成本和毛利"),
    "total_cost": ("Total cost", "总成本"),
    "total_cost_help": ("Platform fees + marketing + staff + other costs.", "平台佣金 + 营销 + 人力 + 其他成本。"),
    "margin": ("Margin", "毛利"),
    "margin_help": ("Net revenue − total cost.", "净营收 − 总成本。"),
    "margin_rate": ("Margin rate", "毛利率"),
    "margin_rate_help": ("Margin / net revenue.", "毛利 / 净营收。"),
    "no_margin_why": ("No margin: it needs what this warehouse was not given ({why}).",
                      "没有毛利：它需要这个仓库未提供的数据（{why}）。"),
    "no_margin": ("No margin for these stores.", "这些门店没有毛利。"),
})

_add("efficiency", {
    "order_to_review": ("From order to review", "从下单到评价"),
    "not_in_funnel": ("Not in the funnel: {stages} — {why}.", "漏斗中未包含：{stages} —— {why}。"),
    "no_forecast": ("The load ahead cannot be forecast: {why}.", "无法预测未来负荷：{why}。"),
    "orders_count_caption": ("Orders count in the week they were placed: the latest weeks fall while their vouchers "
                             "are still being used.", "订单计入下单所在的周：最近几周的券仍在使用中，所以数值偏低。"),
    "load_by_week": ("Load by week", "每周负荷"),
    "speed_breakage": ("Redemption speed and breakage", "核销速度和过期未核销"),
    "ageing_caption": ("Paid vouchers never redeemed, by days to expiry as of {as_of} (the latest order). 'expired' is "
                       "the breakage KPI.", "从未核销的已支付券，按截至 {as_of}（最新订单）距过期的天数统计。“已过期”即过期未核销指标。"),
    "download_ageing": ("Download ageing (CSV)", "下载账龄（CSV）"),
    "expiry": ("Expiry", "距过期"),
    "vouchers": ("Vouchers", "券数"),
    "value": ("Value", "金额"),
    "only_over": ("Only stores over capacity", "只看超负荷的门店"),
    "only_over_help": ("Stores above 100% for the period, or in any week.", "整个期间或任何一周超过 100% 的门店。"),
    "capacity_caption": ("{over} of {stores} stores over capacity in at least one week. Utilisation = redemptions / "
                         "(capacity per hour × open hours, summed over the days: the store's own opening hours where "
                         "given, else {hours} hours a day); red: over 100% for the period, amber: some weeks over 100%.",
                         "{stores} 家门店中有 {over} 家至少一周超负荷。利用率 = 核销数 /（每小时接待能力 × 营业小时，按天求和："
                         "有门店营业时间时用门店自身的，否则每天 {hours} 小时）；红色：整个期间超过 100%，琥珀色：部分周超过 100%。"),
    "redemptions_made": ("Redemptions made", "核销数"),
    "redemptions_made_help": ("Redemptions made in the period (by redeemed_at), as the utilisation counts them.",
                              "统计期内的核销（按核销时间），与利用率的计法相同。"),
    "busiest_week": ("Busiest week", "最忙的一周"),
    "busiest_week_help": ("Redemptions in the store's busiest ISO week / (capacity per hour × open hours × 7).",
                          "门店最忙 ISO 周的核销数 /（每小时接待能力 × 营业小时 × 7）。"),
    "weeks_over": ("Weeks over capacity", "超负荷周数"),
    "weeks_over_help": ("ISO weeks with more redemptions than capacity per hour × open hours × 7.",
                        "核销数超过 每小时接待能力 × 营业小时 × 7 的 ISO 周数。"),
    "over_capacity": ("Over capacity", "超负荷"),
    "load_ahead": ("The load ahead: next {days} days", "未来负荷：接下来 {days} 天"),
    "no_capacity": ("No store with a capacity_per_hour under these filters, so there is nothing to forecast against. "
                    "Add capacities to the stores file.",
                    "在这些筛选条件下没有设定 capacity_per_hour 的门店，所以无从预测。请在门店文件中补充接待能力。"),
    "forecast_caption": ("Forecast from the end of the data ({cut}): open vouchers (sold, paid, not redeemed, not "
                         "refunded, still valid) on the day they are booked for, as often as bookings were kept (a "
                         "booking already missed: as often as missed ones came later), else "
                         "as their category's vouchers of the same age were, plus the "
                         "sales of the last {weeks} weeks' weekdays (public holidays left out) redeemed the same way, "
                         "booked ones as many days after the sale as the store's bookings were made ahead; "
                         "hours by each store's own pattern. At risk: more redemptions than capacity in any {window} "
                         "consecutive days. The sidebar's dates do not apply: the forecast always starts at the end of "
                         "the data. {at_risk} of {stores} stores at risk. Error measured on the demo: README, 'The load "
                         "ahead'.",
                         "从数据末尾（{cut}）开始预测：未核销的券（已售、已支付、未核销、未退款、仍有效）若有预约，按预约的履约比例计在预约当天"
                         "（预约日已过仍未核销的，按以往错过预约后又来核销的比例），"
                         "否则按同品类同券龄的券的核销规律核销，"
                         "再加上最近 {weeks} 周各星期几的销量（不含公共节假日）按同样规律核销，其中有预约的按该门店提前预约的天数计在预约当天；"
                         "小时分布按各门店自身的规律。"
                         "有风险：任意连续 {window} 天的核销数超过接待能力。侧边栏的日期不适用：预测总是从数据末尾开始。"
                         "{stores} 家门店中有 {at_risk} 家有风险。在演示数据上测得的误差见 README。"),
    "download_load": ("Download the load ahead (CSV)", "下载未来负荷（CSV）"),
    "expected": ("Expected redemptions", "预计核销"),
    "from_book": ("of which from vouchers sold", "其中来自已售券"),
    "capacity_day": ("Capacity a day", "每天接待能力"),
    "peak_window_start": ("Busiest 7 days from", "最忙 7 天起始"),
    "peak_window": ("Busiest 7 days / capacity", "最忙 7 天 / 接待能力"),
    "peak_hour_day": ("Busiest hour on", "最忙小时所在日"),
    "at_hour": ("at hour", "时刻"),
    "peak_hour": ("Busiest hour / capacity", "最忙小时 / 接待能力"),
    "at_risk": ("At risk", "有风险"),
    "no_campaign_risk": ("No campaign has open vouchers at a store at risk.", "没有活动在有风险的门店有未核销的券。"),
    "campaigns_risk": ("Campaigns with open vouchers at stores at risk", "在有风险门店有未核销券的活动"),
    "campaign": ("Campaign", "活动"),
    "open_vouchers": ("Open vouchers there", "该处未核销券"),
    "stores_at_risk": ("Stores at risk", "有风险的门店"),
})

#: the words of the charts' hover labels, between their values (i18n.figures.localise matches
#: each run of words between two values on its English)
_add("hover", {
    "reviews": ("reviews", "条评价"),
    "orders": ("orders", "单"),
    "refunded": ("refunded", "退款"),
    "margin": ("margin", "利润"),
    "net_revenue": ("net revenue", "净收入"),
    "cost": ("cost", "成本"),
    "vouchers_worth": ("vouchers worth", "张券，价值"),
    "utilisation": ("utilisation", "利用率"),
    "weeks_over": ("weeks over capacity", "超出接待能力的周数"),
    "busiest_week": ("busiest week", "最忙的一周"),
    "redemptions": ("redemptions", "次核销"),
    "redemptions_title": ("Redemptions", "核销"),
    "target": ("target", "目标"),
    "peer_median": ("peer median", "同类中位数"),
})

#: whole hover templates (their part before ``<extra>``) whose words a reader of the other
#: language puts in another order than the run-by-run words would ("85% 占接待能力，7 天起于
#: 2026-11-23" -> "占接待能力 85%，自 2026-11-23 起 7 天"); matched on the English as a whole
_add("hovers", {
    "complaints": ("%{y}: %{x:.1%} of redemptions (%{customdata:,} complaints)",
                   "%{y}: 占核销 %{x:.1%}（%{customdata:,} 条投诉）"),
    "refund_reasons": ("%{y}: %{x:,} orders (%{customdata[0]:.1%} of paid), refunded %{customdata[1]:,.0f}",
                       "%{y}: %{x:,} 单（占已支付 %{customdata[0]:.1%}），退款 %{customdata[1]:,.0f}"),
    "unusual_weeks": ("%{customdata[0]} unusual store-week(s):<br>%{customdata[1]}",
                      "%{customdata[0]} 个异常门店周：<br>%{customdata[1]}"),
    "busiest_window": ("%{y}: %{x:.0%} of capacity in the 7 days from %{customdata[0]}",
                       "%{y}: 占接待能力 %{x:.0%}，自 %{customdata[0]} 起 7 天"),
    # "标示 4.8 ★, 顾客给出 4.10 ★" word by word: an English comma, and "give" where 实际 reads
    "listed_vs_actual": ("<b>%{text}</b><br>listed %{x:.1f} ★, customers give %{y:.2f} ★"
                         "<br>%{customdata[0]:,.0f} reviews",
                         "<b>%{text}</b><br>标示 %{x:.1f} ★，顾客实际 %{y:.2f} ★<br>%{customdata[0]:,.0f} 条评价"),
})

_add("chart", {
    "ordered": ("Ordered", "下单"), "paid": ("Paid", "支付"), "redeemed": ("Redeemed", "核销"),
    "reviewed": ("Reviewed", "评价"),
    "b_lt1h": ("< 1 h", "< 1 小时"), "b_1_3h": ("1–3 h", "1–3 小时"), "b_3_6h": ("3–6 h", "3–6 小时"),
    "b_6_12h": ("6–12 h", "6–12 小时"), "b_12_24h": ("12–24 h", "12–24 小时"), "b_1_2d": ("1–2 days", "1–2 天"),
    "b_2_3d": ("2–3 days", "2–3 天"), "b_3_7d": ("3–7 days", "3–7 天"), "b_1_2w": ("1–2 weeks", "1–2 周"),
    "b_2w": ("2+ weeks", "2 周以上"),
    "a_expired": ("expired", "已过期"), "a_0_7": ("0–7 days", "0–7 天"), "a_8_30": ("8–30 days", "8–30 天"),
    "a_31": ("31+ days", "31 天以上"), "a_none": ("no expiry", "无有效期"),
    "orders_week": ("Orders by week", "每周订单数"),
    "redemption_rate_week": ("Redemption rate by week", "每周核销率"),
})

_add("definitions", {
    "kind_sum": ("sum", "求和"),
    "kind_ratio": ("ratio", "比率"),
    "kind_difference": ("difference", "差值"),
    "kind_median": ("median", "中位数"),
    "kind_index": ("index", "指数"),
})

_add("campaigns", {
    "lift": ("Incremental lift", "增量提升"),
    "lift_help": ("Orders at the campaign's stores against what stores without a campaign in the same city and "
                  "category predict for them (difference-in-differences on weekly blocks).",
                  "活动门店的订单，对比同城市同品类无活动门店所预测的数量（按周分块的双重差分）。"),
    "lift_low": ("Lift, 95% low", "提升，95% 下限"),
    "lift_high": ("Lift, 95% high", "提升，95% 上限"),
    "extra_orders": ("Extra orders", "增量订单"),
    "extra_net_revenue": ("Extra net revenue", "增量净营收"),
    "incremental_roi": ("Incremental ROI", "增量投资回报率"),
    "incremental_roi_help": ("(extra net revenue − marketing spend) / marketing spend",
                             "（增量净营收 − 营销投入）/ 营销投入"),
    "verdict": ("Lift verdict", "增量结论"),
    "ignored": ("Ignored {param} {ignored} from the link: not among the choices under these filters.",
                "已忽略链接中的 {param} {ignored}：不在这些筛选条件下的可选项中。"),
    "lift_title": ("**Incremental lift** — its stores against stores without a campaign in the same city and "
                   "category, each against its own weeks before",
                   "**增量提升** —— 活动门店对比同城市同品类的无活动门店，各自与自身之前的周相比"),
    "interval": ("95% interval {low} to {high}", "95% 区间 {low} 至 {high}"),
    "measured": ("Measured: {stores} store(s), {baseline_weeks} baseline weeks ({baseline_orders} orders) and "
                 "{campaign_weeks} campaign weeks; about {control} comparable stores without a campaign on an average "
                 "day. Days when a store ran another campaign are left out. Dates ignore the sidebar's date filter. "
                 "Method and measured coverage: o2o_ops.lift, README.",
                 "测算基于：{stores} 家门店，{baseline_weeks} 个基线周（{baseline_orders} 笔订单）和 {campaign_weeks} 个活动周；"
                 "平均每天约 {control} 家可比的无活动门店。门店同时进行其他活动的日子不计入。日期不受侧边栏日期筛选影响。"
                 "方法和实测覆盖率：o2o_ops.lift、README。"),
    "orders_of": ("orders of {campaign} at {store}", "{campaign} 在 {store} 的订单"),
    "page_of": ("Page (of {pages})", "页码（共 {pages} 页）"),
    "orders_range": ("Orders {first}–{last} of {total} · {campaign} at {store}",
                     "第 {first}–{last} 笔订单，共 {total} 笔 · {campaign} 在 {store}"),
    "download_page": ("Download this page (CSV)", "下载本页（CSV）"),
    "review_stars": ("Review ★", "评价 ★"),
    "funnel": ("**Funnel**: impression → click → coupon → order → redeemed → reviewed",
               "**漏斗**：曝光 → 点击 → 领券 → 下单 → 核销 → 评价"),
    "stage": ("Stage", "阶段"),
    "of_stage_before": ("Of the stage before", "占上一阶段"),
    "no_events": ("The online half (impressions, clicks, coupons received) is not provided: the warehouse holds no "
                  "events (the optional table events of the warehouse contract).",
                  "线上部分（曝光、点击、领券）未提供：仓库中没有事件（仓库约定中的可选表 events）。"),
    "budget": ("budget {budget}", "预算 {budget}"),
    "its_stores": ("**Its stores**, ranked by the campaign's orders", "**活动门店**，按活动订单排名"),
    "new_customers": ("**New customers** whose first order came through this campaign, and how many ordered again",
                      "首单来自本活动的**新客**，以及其中有多少再次下单"),
    "within_days": ("Within (days)", "期限（天）"),
    "observed": ("Observed", "可观察"),
    "observed_help": ("New customers whose whole window lies in the data", "整个期限都在数据范围内的新客"),
    "ordered_again": ("Ordered again", "再次下单"),
    "returned": ("Came back", "再次下单人数"),
    "pick_store": ("Pick a store to see its orders", "选择门店查看其订单"),
    "analysts_only": ("Order-level rows are shown to analysts only; the store's KPIs are in the table above.",
                      "订单明细只对分析师显示；门店的指标见上表。"),
    "compare": ("Compare campaigns", "对比活动"),
    "pick_two": ("Pick two or more", "选择两个或更多"),
    "pick_two_caption": ("Pick two or more campaigns to see them side by side.", "选择两个或更多活动进行并排对比。"),
    "none_yet": ("This warehouse has no campaigns yet. Import a campaigns file, with the campaign_id of each campaign "
                 "order in the orders file, on the Data page to see what each campaign brings.",
                 "这个仓库还没有活动。请在“数据”页导入活动文件（并在订单文件中为每笔活动订单填写 campaign_id），即可看到每个活动的效果。"),
    "campaign_orders": ("campaign orders", "活动订单"),
    "all": ("All campaigns", "全部活动"),
    "tick_store": ("Tick a store's row to see its orders for this campaign.", "勾选门店所在行，查看该门店在本活动中的订单。"),
    "tick_campaign": ("Tick a row to drill into one campaign. ", "勾选一行，深入查看该活动。"),
    "table_caption": ("{count} campaigns with orders under these filters. Lift compares each campaign's stores, from "
                      "the {weeks}+ weeks before it to its own weeks, with stores without a campaign in the same city "
                      "and category; '{too_thin}' = under {min_weeks} baseline weeks or {min_orders} orders, or under "
                      "{min_stores} comparable stores.",
                      "在这些筛选条件下有订单的活动共 {count} 个。增量提升把每个活动的门店从活动前 {weeks} 周以上到活动期间的变化，"
                      "与同城市同品类无活动门店的变化相比；“{too_thin}” = 基线少于 {min_weeks} 周或 {min_orders} 笔订单，"
                      "或可比门店少于 {min_stores} 家。"),
    "side_by_side": ("Compare campaigns side by side", "并排对比活动"),
    "drill": ("Drill down", "逐层查看"),
    "pick_campaign": ("Pick a campaign", "选择活动"),
})

_add("chart", {
    "real_lift": ("Real lift", "确有提升"), "hurts": ("Hurts", "有损害"), "no_clear": ("No clear effect", "效果不明显"),
    "too_thin": ("Too thin to judge", "数据太少无法判断"),
    "impression": ("Impression", "曝光"), "click": ("Click", "点击"), "coupon_received": ("Coupon received", "领券"),
    "order": ("Order", "下单"),
    "lift_low": ("Lift, 95% low", "提升，95% 下限"), "lift_high": ("Lift, 95% high", "提升，95% 上限"),
    "extra_orders": ("Extra orders", "增量订单"), "extra_net_revenue": ("Extra net revenue", "增量净营收"),
    "incremental_roi": ("Incremental ROI", "增量投资回报率"), "incremental_lift": ("Incremental lift", "增量提升"),
    "lift_verdict": ("Lift verdict", "增量结论"),
    "t_1_6h": ("1–6 h", "1–6 小时"), "t_6_24h": ("6–24 h", "6–24 小时"), "t_1_3d": ("1–3 days", "1–3 天"),
    "t_2_4w": ("2–4 weeks", "2–4 周"), "t_4w": ("4 weeks +", "4 周以上"),
})

_add("start", {
    "not_set_up": ("o2o-ops is not set up yet", "o2o-ops 尚未设置"),
    "no_warehouse_locked": ("There is no warehouse to show yet, and with sign-in switched on the app does not build a "
                            "demo in its place. An administrator imports the data on the server with `python -m o2o_ops "
                            "import-dir FOLDER` (or builds the demo with `python -m o2o_ops demo`).",
                            "还没有可显示的数据仓库；开启登录后，应用不会以演示数据代替。请管理员在服务器上用 "
                            "`python -m o2o_ops import-dir FOLDER` 导入数据（或用 `python -m o2o_ops demo` 构建演示数据）。"),
    "setting_up": ("Setting up o2o-ops", "正在设置 o2o-ops"),
    "first_start": ("No warehouse at `{path}` yet, so this first start builds the demo warehouse ({orders} orders). "
                    "Later starts reuse it.", "`{path}` 还没有数据仓库，所以首次启动会构建演示数据仓库（{orders} 笔订单）。之后启动会直接使用它。"),
    "starting": ("Starting…", "正在开始…"),
    "see_log": ("see the server log.", "请查看服务器日志。"),
    "build_failed": ("Building the demo warehouse failed: {why} Try `python -m o2o_ops demo` in a shell.",
                     "构建演示数据仓库失败：{why} 请在命令行中尝试 `python -m o2o_ops demo`。"),
    "stale_locked": ("The warehouse was prepared by another version of o2o-ops. An administrator refreshes it on the "
                     "server (the data is kept) with `python -m o2o_ops refresh`.",
                     "数据仓库由另一个版本的 o2o-ops 准备。请管理员在服务器上用 `python -m o2o_ops refresh` 刷新（数据会保留）。"),
    "preparing": ("Preparing the warehouse at `{path}` for this version of o2o-ops…", "正在为此版本的 o2o-ops 准备 `{path}` 的数据仓库…"),
    "refresh_failed": ("The warehouse was prepared by another version of o2o-ops and refreshing it failed: {why} "
                       "Whoever runs o2o-ops can refresh it with `python -m o2o_ops refresh`.",
                       "数据仓库由另一个版本的 o2o-ops 准备，刷新失败：{why} o2o-ops 的管理员可以用 `python -m o2o_ops refresh` 刷新。"),
    "cannot_open": ("The warehouse cannot be opened. An administrator can see why with `python -m o2o_ops info` on the "
                    "server.", "无法打开数据仓库。管理员可在服务器上用 `python -m o2o_ops info` 查看原因。"),
})

_add("chart", {
    "median_hours": ("median {value} h", "中位数 {value} 小时"),
})

_add("auth", {
    "role_admin": ("admin", "管理员"),
    "role_analyst": ("analyst", "分析师"),
    "role_executive": ("executive", "高管"),
    "role_regional_manager": ("regional manager", "区域经理"),
    "role_store_manager": ("store manager", "店长"),
    "one_store": ("{count} store", "{count} 家门店"),
    "stores": ("{count} stores", "{count} 家门店"),
    "signed_in_as": ("Signed in as **{name}** ({role})", "已登录：**{name}**（{role}）"),
    "sign_out": ("Sign out", "退出登录"),
    "signed_out": ("You signed out.", "你已退出登录。"),
    "title": ("Sign in to o2o-ops", "登录 o2o-ops"),
    "user_name": ("User name", "用户名"),
    "password": ("Password", "密码"),
    "sign_in": ("Sign in", "登录"),
    "no_users": ("Sign-in is switched on but no users exist yet. An administrator adds one with `python -m o2o_ops "
                 "user add NAME --role ROLE`.",
                 "已开启登录，但还没有用户。请管理员用 `python -m o2o_ops user add NAME --role ROLE` 添加。"),
    "sso": ("Sign in with single sign-on", "使用单点登录"),
    "roles": ("Store and regional managers see their own stores; analysts and admins also see order-level rows and "
              "may import data.", "店长和区域经理看到自己的门店；分析师和管理员还能看到订单明细并导入数据。"),
    "open_note": ("Open demo: no sign-in configured. Everyone who can open this app can import data and change the "
                  "warehouse.", "开放演示：未配置登录。能打开此应用的人都可以导入数据和修改数据仓库。"),
    "open_help": ("Anyone who can open this app sees every store and may import files on the Data page. Add a user "
                  "with `python -m o2o_ops user add` to require sign-in; then only admins and analysts import.",
                  "能打开此应用的人都能看到所有门店，并可在“数据”页导入文件。用 `python -m o2o_ops user add` 添加用户即可要求登录；"
                  "之后只有管理员和分析师可以导入。"),
})

_add("anomaly", {
    "kpi_orders": ("Orders", "订单数"),
    "kpi_avg_wait_minutes": ("Average wait", "平均等待"),
    "kpi_avg_rating": ("Average rating", "平均评分"),
    "kpi_refund_rate": ("Refund rate", "退款率"),
    "unit_orders": ("orders", "笔"),
    "unit_min": ("min", "分钟"),
    "unit_stars": ("stars", "星"),
    "unit_pct": ("%", "%"),
})

# Chart clicks that drill (issue #20): the campaigns page's bars
_add("chart", {
    "campaigns_top": ("Campaigns with the most orders (click a bar to open it)", "订单最多的活动（点击柱形打开）"),
    "stores_top": ("Its stores by orders (click a bar to open its orders)", "各门店的订单数（点击柱形查看订单）"),
    "no_campaign_orders_any": ("No campaign orders under these filters", "在这些筛选条件下没有活动订单"),
})

_add("lift", {   # o2o_ops.lift's verdict sentences and the reasons a lift is too thin to judge
    "no_data": ("No data: no orders at this campaign's stores, so there is nothing to judge.",
                "无数据：本活动的门店没有订单，无从判断。"),
    "too_thin": ("Too thin to judge: {reason}.", "数据太少无法判断：{reason}。"),
    "interval": ("95% interval {low} to {high}", "95% 区间 {low} 至 {high}"),
    "net_revenue": ("; net revenue {sign}{value}", "；净营收 {sign}{value}"),
    "real_lift": ("Real lift: {lift} orders at its stores ({interval}) against what stores without a campaign in the "
                  "same city and category suggest, about {extra} extra orders{money}.",
                  "确有提升：与同城市同品类无活动门店所预测的相比，活动门店的订单 {lift}（{interval}），"
                  "约增加 {extra} 笔订单{money}。"),
    "hurts": ("Hurts: {lift} orders at its stores ({interval}) against what stores without a campaign in the same "
              "city and category suggest, about {fewer} fewer orders.",
              "有损害：与同城市同品类无活动门店所预测的相比，活动门店的订单 {lift}（{interval}），约减少 {fewer} 笔订单。"),
    "no_clear": ("No clear effect: the change ({lift}) is within what weeks normally vary ({interval}).",
                 "效果不明显：变化（{lift}）在各周的正常波动范围内（{interval}）。"),
    "reason_none": ("not enough data", "数据不足"),
    "reason_separator": ("; ", "；"),
    "reason_weeks": ("only {count} baseline week(s) before it (need {need})",
                     "活动前只有 {count} 个基线周（至少需要 {need} 个）"),
    "reason_orders": ("only {count} baseline orders (need {need})", "基线订单只有 {count} 笔（至少需要 {need} 笔）"),
    "reason_controls": ("only {count} comparable stores without a campaign (same city or category; need {need})",
                        "可比的无活动门店只有 {count} 家（同城市或同品类；至少需要 {need} 家）"),
    "reason_no_link": ("no stores without a campaign link its city to its category",
                       "没有无活动门店能把它的城市和品类联系起来"),
    "reason_empty_week": ("a week without orders", "有一周没有订单"),
    "reason_few_weeks": ("too few weeks to measure how much weeks vary", "周数太少，无法衡量各周的波动"),
    "reason_no_campaign_week": ("no campaign week with data", "没有有数据的活动周"),
    "reason_no_orders": ("no orders at its stores", "活动门店没有订单"),
})

_add("problem", {   # the importer's messages (o2o_ops.i18n.problems: matched on ingest's English)
    "where": ("{where}: {message}", "{where}：{message}"),
    "comma": (", ", "，"),
    "at_row": ("row {row}", "第 {row} 行"),
    "at_column": ("column {column}", "列 {column}"),
    "refused": ("Import refused: {count} problem(s); nothing was written.", "导入被拒绝：{count} 个问题；没有写入任何数据。"),
    "kind_count": ("{kind} ({count}):", "{kind}（{count}）："),
    "and_more": ("... and {count} more", "……另有 {count} 个"),
    "rows_numbered": ("CSV rows are numbered as in a spreadsheet (the header is row 1); Parquet records from 1.",
                      "CSV 的行号与电子表格相同（表头是第 1 行）；Parquet 记录从 1 开始编号。"),
    "kind_bad_setting": ("Server setting wrong", "服务器设置有误"),
    "kind_file_too_large": ("File too large", "文件太大"),
    "kind_unreadable_file": ("File cannot be read", "文件无法读取"),
    "kind_bad_mapping": ("Mapping problem", "映射有问题"),
    "kind_missing_column": ("Missing required column", "缺少必需列"),
    "kind_duplicate_column": ("Two columns map to one", "两列映射到同一列"),
    "kind_missing_value": ("Required value empty", "必填值为空"),
    "kind_wrong_type": ("Wrong type", "类型错误"),
    "kind_bad_date": ("Date does not parse", "日期无法解析"),
    "kind_negative_value": ("Negative value", "负值"),
    "kind_out_of_range": ("Out of range", "超出范围"),
    "kind_not_allowed": ("Value not allowed", "值不允许"),
    "kind_invalid_row": ("Inconsistent row", "行内容矛盾"),
    "kind_duplicate_key": ("Duplicated key in the file", "文件中键重复"),
    "kind_unknown_reference": ("Key points at nothing", "键找不到对应记录"),
    "required_empty": ("{column} is required but empty", "{column} 是必填项，但为空"),
    "required_empty_text": ("{column} is required but empty: '{value}' is an empty value written as text",
                            "{column} 是必填项，但为空：“{value}”是写成文字的空值"),
    "not_finite": ("{column}: '{value}' is not a finite number (NaN and infinity are refused){hint}",
                   "{column}：“{value}”不是有限数值（不接受 NaN 和无穷大）{hint}"),
    "not_number": ("{column}: '{value}' is not a number{hint}", "{column}：“{value}”不是数字{hint}"),
    "not_integer": ("{column}: '{value}' is not a whole number{hint}", "{column}：“{value}”不是整数{hint}"),
    "not_boolean": ("{column}: '{value}' is not true/false", "{column}：“{value}”不是 true/false"),
    "not_date": ("{column}: '{value}' is not a date (ISO 8601 like 2016-07-12{format}){hint}",
                 "{column}：“{value}”不是日期（ISO 8601 格式，如 2016-07-12{format}）{hint}"),
    "not_timestamp": ("{column}: '{value}' is not a date-time (ISO 8601 like 2016-07-12{format}){hint}",
                      "{column}：“{value}”不是日期时间（ISO 8601 格式，如 2016-07-12{format}）{hint}"),
    "or_format": (" or {format}", "，或 {format}"),
    "not_time": ("{column}: '{value}' is not a time of day (HH:MM, 00:00 to 24:00)",
                 "{column}：“{value}”不是一天中的时刻（HH:MM，00:00 至 24:00）"),
    "hint_clock": (" — it looks like a number a spreadsheet turned into a clock time (\"500:50\" becomes 500:50:00); "
                   "format the column as text in the spreadsheet and export again",
                   " —— 看起来是被电子表格转成了时钟时间的数字（“500:50”变成 500:50:00）；请在电子表格中把该列设为文本后重新导出"),
    "hint_x_y_discount": (" — it is written x:y (spend x, get y off); to convert it to the share taken off (y / x), "
                          "set discount_rate_x_y = \"spend_off\" in the mapping",
                          " —— 写成了 x:y（满 x 减 y）；要换算成折扣比例（y / x），请在映射中设置 "
                          "discount_rate_x_y = \"spend_off\""),
    "hint_x_y": (" — it is written x:y, not as one number", " —— 写成了 x:y，而不是一个数字"),
    "hint_null_word": (" — it looks like an empty value written as text; to import it as empty, list it in the "
                       "mapping's null_values",
                       " —— 看起来是写成文字的空值；要按空值导入，请在映射的 null_values 中列出它"),
    "source_missing": ("{line}the SQL reads the source '{source}', whose file {file} is not in this batch{others}: "
                       "add that file, or take the source out of [tables.{table}] (without that section, the table "
                       "is not imported){shown}",
                       "{line}SQL 读取来源“{source}”，但它的文件 {file} 不在这批文件中{others}：请加上该文件，或从 "
                       "[tables.{table}] 中去掉这个来源（删去整节则不导入该表）{shown}"),
    "others": (" (files [sources] does not name: {files})", "（[sources] 未列出的文件：{files}）"),
    "sql_line": ("line {line}: ", "第 {line} 行："),
    "table_twice": ("{table} is given more than once in this batch", "这批文件中 {table} 出现了不止一次"),
    "excel_sep": ("row 1 is 'sep={delimiter}', Excel's hint of the delimiter, not a header: delete that line so that "
                  "the first line names the columns",
                  "第 1 行是“sep={delimiter}”，这是 Excel 标明分隔符的提示行，不是表头：请删去这一行，让第一行写列名"),
    "mapping_not_utf8": ("cannot use this mapping file: it is not UTF-8 text (byte {value} at byte {offset}, line "
                         "{line}): save it as UTF-8",
                         "无法使用此映射文件：它不是 UTF-8 文本（第 {line} 行，第 {offset} 个字节处的字节 {value}）："
                         "请把它另存为 UTF-8"),
    "mapping_at": ("cannot use this mapping file: line {line}, column {col}: {why}{tabs}",
                   "无法使用此映射文件：第 {line} 行第 {col} 列：{why}{tabs}"),
    "yaml_tabs": (" (YAML indents with spaces, not tabs)", "（YAML 用空格缩进，不能用制表符）"),
    "mapping_unreadable": ("cannot use this mapping file: {why}", "无法使用此映射文件：{why}"),
    "json_invalid": ("expected JSON records: an array of objects, or one object per line (NDJSON), but {unit} is "
                     "not valid JSON{reason}, at byte {byte} of it",
                     "应为 JSON 记录（对象数组，或每行一个对象的 NDJSON），但{unit}不是有效的 JSON{reason}，"
                     "问题在该处第 {byte} 个字节"),
    "json_reason": (" ({reason})", "（{reason}）"),
    "json_line": ("line {number}", "第 {number} 行"),
    "json_record": ("record {number}", "第 {number} 条记录"),
    "json_end_of_data": ("unexpected end of data", "数据意外结束"),
    "json_character": ("unexpected character", "意外的字符"),
    "json_empty": ("the file is empty (0 bytes): expected JSON records: an array of objects, or one object per "
                   "line (NDJSON)", "文件为空（0 字节）：应为 JSON 记录（对象数组，或每行一个对象的 NDJSON）"),
    "bad_encoding": ("the text is not valid {encoding} ({how}): byte(s) {value} at byte {offset} of the file"
                     "{unpacked}; name the file's encoding in the mapping (encoding = \"...\")",
                     "文本不是有效的 {encoding}（{how}）：文件{unpacked}第 {offset} 个字节处的字节 {value}；"
                     "请在映射中写明文件的编码（encoding = \"...\"）"),
    "how_named": ("named in the mapping", "映射中指定"),
    "how_bom": ("from its byte-order mark", "据字节顺序标记判断"),
    "how_before": ("as the text before it is", "按其前面的文本判断"),
    "how_detected": ("detected", "自动识别"),
    "once_decompressed": (" once decompressed", "解压后"),
    "never_closed": ("a quoted value that opens in this row is never closed (the file ends inside it)",
                     "此行开始的带引号的值一直没有结束（文件在引号内结束）"),
    "sql_in": (" — in: {text}", " —— 位于：{text}"),
    "hint_percent": (" — it is written as a percent, not as one number", " —— 写成了百分数，而不是一个数字"),
    "hint_thousands": (" — it looks like a number written with thousands separators (1,234.50); export the column "
                       "as plain numbers, without separators",
                       " —— 看起来是带千位分隔符的数字（1,234.50）；请把该列导出为不带分隔符的纯数字"),
    "hint_decimal_comma": (" — it looks like a number written with a decimal comma (12,5 for 12.5); export the "
                           "column with a decimal point",
                           " —— 看起来是用逗号作小数点的数字（12,5 即 12.5）；请用小数点导出该列"),
    "hint_currency": (" — it carries a currency sign; export the column as plain numbers, without the sign",
                      " —— 带有货币符号；请把该列导出为不带符号的纯数字"),
    "hint_yyyymmdd": (" — it looks like a date written yyyymmdd; set date_format = \"%Y%m%d\" in the mapping",
                      " —— 看起来是写成 yyyymmdd 的日期；请在映射中设置 date_format = \"%Y%m%d\""),
    "hint_day_first": (" — a spreadsheet's date, day first; set date_format = \"%d/%m/%Y\" in the mapping "
                       "(and timestamp_format = \"%d/%m/%Y %H:%M\" for date-times)",
                       " —— 电子表格的日期，日在前；请在映射中设置 date_format = \"%d/%m/%Y\""
                       "（日期时间列另设 timestamp_format = \"%d/%m/%Y %H:%M\"）"),
    "hint_month_first": (" — a spreadsheet's date, month first; set date_format = \"%m/%d/%Y\" in the mapping "
                         "(and timestamp_format = \"%m/%d/%Y %H:%M\" for date-times)",
                         " —— 电子表格的日期，月在前；请在映射中设置 date_format = \"%m/%d/%Y\""
                         "（日期时间列另设 timestamp_format = \"%m/%d/%Y %H:%M\"）"),
    "hint_day_or_month": (" — a spreadsheet's date, day first or month first; name its order in the mapping: "
                          "date_format = \"%d/%m/%Y\" or \"%m/%d/%Y\" (and timestamp_format for date-times)",
                          " —— 电子表格的日期，无法判断日在前还是月在前；请在映射中写明顺序：date_format = "
                          "\"%d/%m/%Y\" 或 \"%m/%d/%Y\"（日期时间列另设 timestamp_format）"),
    "too_long": ("{column} is {length} characters long; a text value may have at most {limit}",
                 "{column} 长 {length} 个字符；文本值最多 {limit} 个字符"),
    "negative_money": ("{column} must not be negative (money), got {value}", "{column} 不能为负（金额），实际为 {value}"),
    "negative_quantity": ("{column} must not be negative (a quantity), got {value}",
                          "{column} 不能为负（数量），实际为 {value}"),
    "between": ("{column} must be between {low} and {high}, got {value}", "{column} 必须在 {low} 到 {high} 之间，实际为 {value}"),
    "at_least": ("{column} must be >= {low}, got {value}", "{column} 必须 ≥ {low}，实际为 {value}"),
    "at_most": ("{column} must be <= {high}, got {value}", "{column} 必须 ≤ {high}，实际为 {value}"),
    "counted_text": ("{column}: '{value}' would count as a {what}{hint}", "{column}：“{value}”会被计为一条{what}{hint}"),
    "not_allowed": ("{column} must be one of {allowed}, got '{value}'", "{column} 必须是 {allowed} 之一，实际为“{value}”"),
    "duplicate_key": ("{key} '{value}' appears again (first on row {first})", "{key}“{value}”重复出现（首次在第 {first} 行）"),
    "unknown_reference": ("{column} '{value}' is not in {parent} (neither in the warehouse nor in this batch)",
                          "{column}“{value}”不在 {parent} 中（数据仓库和本批文件中都没有）"),
    "unknown_scope": ("{column} '{value}' names no {kind}: no store has {parent_column} '{value}' (neither in the "
                      "warehouse nor in this batch)",
                      "{column}“{value}”不是任何 {kind}：没有门店的 {parent_column} 为“{value}”（数据仓库和本批文件中都没有）"),
    "what_redemption": ("redemption", "核销"),
    "what_review": ("review", "评价"),
    "what_complaint": ("complaint", "投诉"),
    "what_refund": ("refund", "退款"),
    "before_order": ("{column} {value} is before its order was placed ({parent_column} {placed}): a {what} cannot "
                     "come before the order",
                     "{column} {value} 早于订单的下单时间（{parent_column} {placed}）：{what}不能早于订单"),
    "after_child": ("{parent_column} {value} is after this order's {what} in the warehouse ({column} {at}): an order "
                    "cannot be placed after its {what}",
                    "{parent_column} {value} 晚于数据仓库中该订单的{what}（{column} {at}）：订单不能晚于它的{what}"),
    "before_setting": ("{column} {value} is before {first} (setting O2O_EARLIEST_DATE)",
                       "{column} {value} 早于 {first}（设置 O2O_EARLIEST_DATE）"),
    "before": ("{column} {value} is before {first}", "{column} {value} 早于 {first}"),
    "in_future": ("{column} {value} is after tomorrow ({last}): it cannot have happened yet",
                  "{column} {value} 晚于明天（{last}）：不可能已经发生"),
    "too_far_ahead": ("{column} {value} is too far ahead: after {last} (setting O2O_MAX_YEARS_AHEAD)",
                      "{column} {value} 太远：晚于 {last}（设置 O2O_MAX_YEARS_AHEAD）"),
    "missing_column": ("required column '{column}' is missing (the file has: {header})",
                       "缺少必需列“{column}”（文件中的列：{header}）"),
    "missing_column_sql": ("required column '{column}' is missing (the SQL's result has: {header})",
                           "缺少必需列“{column}”（SQL 结果中的列：{header}）"),
    "two_columns": ("two columns of the file map to '{column}' ('{first}' and '{second}')",
                    "文件中有两列映射到“{column}”（“{first}”和“{second}”）"),
    "bad_rename": ("the mapping renames '{source}' to '{target}', which is not a column of any contract table",
                   "映射把“{source}”改名为“{target}”，但它不是任何约定表的列"),
    "not_found": ("file not found", "找不到文件"),
    "too_large": ("the file is {size} MiB, more than the limit of {limit} MiB (setting O2O_IMPORT_MAX_MB); split it "
                  "or raise the limit",
                  "文件有 {size} MiB，超过 {limit} MiB 的上限（设置 O2O_IMPORT_MAX_MB）；请拆分文件或提高上限"),
    "few_fields": ("the row has {count} field(s) but the header has {width}: a value or a delimiter ({delimiter}) is "
                   "missing{column}",
                   "该行有 {count} 个字段，但表头有 {width} 个：缺少一个值或分隔符（{delimiter}）{column}"),
    "ends_before": ("; the row ends before column {column}", "；该行在列 {column} 之前就结束了"),
    "fewer": ("fewer", "更少"),
    "more": ("more", "更多"),
    "many_fields": ("the row has {count} fields but the header has {width}: is a value holding the delimiter "
                    "({delimiter}) not in quotes?",
                    "该行有 {count} 个字段，但表头有 {width} 个：是否有值包含分隔符（{delimiter}）却没有加引号？"),
    "open_quote": ("a quoted value in this row is not closed where it should be (a quote inside a quoted value is "
                   "written \"\")", "该行有一个带引号的值没有在应有的位置结束（引号内的引号应写成 \"\"）"),
    "not_utf8": ("the row is not valid UTF-8 text", "该行不是有效的 UTF-8 文本"),
    "end_before_start": ("end_date is before start_date", "end_date 早于 start_date"),
    "promise_before_order": ("promised_at is before ordered_at: a promise is for after the order",
                             "promised_at 早于 ordered_at：承诺应在下单之后"),
    "closes_at_opens": ("closes_at equals opens_at; a day open around the clock is 00:00 to 24:00",
                        "closes_at 等于 opens_at；全天营业请写 00:00 至 24:00"),
    "inspection_result": ("an inspection needs a result: a score, a pass, or violation counts",
                          "检查需要有结果：分数、是否通过或违规数"),
    "scope_id": ("scope_id names the store or region of a 'store' or 'region' target and is empty for 'business'",
                 "scope_id 填写“store”或“region”目标的门店或大区，“business”目标留空"),
    "first_of_month": ("month is the first day of the month (e.g. 2026-11-01)", "month 应为当月第一天（如 2026-11-01）"),
    "share_target": ("a percent KPI's target is a share between 0 and 1 (0.85 for 85%)",
                     "百分比指标的目标是 0 到 1 之间的比例（85% 写作 0.85）"),
})

_add("data", {   # the Data page: import flow, preview, problems, import log, checks, targets
    "uploader_button": ("Upload", "上传"),
    "uploader_limit": ("{limit} per file • {types}", "每个文件不超过 {limit} • {types}"),
    "imported": ("Imported {files} file(s): {added} rows added, {updated} updated, {unchanged} unchanged. Every page "
                 "now shows the new data.",
                 "已导入 {files} 个文件：新增 {added} 行，更新 {updated} 行，{unchanged} 行未变。所有页面现在都显示新数据。"),
    "open_demo": ("Open demo, no sign-in configured: Everyone who can open this app can import data and change the "
                  "warehouse. Add users (`python -m o2o_ops user add`) to limit importing to admins and analysts.",
                  "开放演示，未配置登录：能打开此应用的人都可以导入数据和修改数据仓库。添加用户"
                  "（`python -m o2o_ops user add`）即可只允许管理员和分析师导入。"),
    "files": ("Data files (CSV, Parquet or JSON; one per table, or the sources a mapping names)",
              "数据文件（CSV、Parquet 或 JSON；每张表一个，或映射中指定的源文件）"),
    "files_help": ("Columns are matched to the warehouse contract by name (see KPI definitions → data). Files over "
                   "{limit} MiB are refused here (setting O2O_UPLOAD_MAX_MB); import bigger ones on the server with "
                   "`python -m o2o_ops import`.",
                   "列按名称与数据仓库约定匹配（见“指标定义”→ 数据）。超过 {limit} MiB 的文件在这里会被拒绝"
                   "（设置 O2O_UPLOAD_MAX_MB）；更大的文件请在服务器上用 `python -m o2o_ops import` 导入。"),
    "mapping": ("Column mapping (optional, TOML or YAML)", "列映射（可选，TOML 或 YAML）"),
    "mapping_help": ("Renames your columns to the contract's, gives date formats, null markers, value maps, defaults, "
                     "and per table a DuckDB query over the files it names (see docs/mapping.md).",
                     "把你的列改名为约定中的列名，并指定日期格式、空值标记、取值映射、默认值，以及每张表基于所列文件的 "
                     "DuckDB 查询（见 `docs/mapping.md`）。"),
    "mapping_format": ("Mapping file format", "映射文件格式"),
    "mapping_reference": ("Full reference and worked examples: docs/mapping.md and examples/mappings/ in the repository.",
                          "完整说明和示例：代码仓库中的 `docs/mapping.md` 和 `examples/mappings/`。"),
    "mapping_too_large": ("The mapping file {name} is over the upload limit and is ignored.",
                          "映射文件 {name} 超过上传上限，已忽略。"),
    "mapping_unusable": ("The mapping file {name} cannot be used: {why}. It is ignored until you upload a corrected one.",
                         "映射文件 {name} 无法使用：{why}。在你上传改正后的文件之前，它会被忽略。"),
    "mapping_cannot": ("The mapping file cannot be used: {why}", "映射文件无法使用：{why}"),
    "upload_first": ("Upload one or more files to preview and check them. Nothing is written until you press Import, "
                     "and a batch with any problem writes nothing.",
                     "上传一个或多个文件即可预览和检查。按下“导入”之前不会写入任何数据；一批文件只要有任何问题，就什么都不会写入。"),
    "sql_fills": ("The mapping's staging SQL fills {tables} from {files}.", "映射的暂存 SQL 用 {files} 填充 {tables}。"),
    "sql_fills_none": ("The mapping's staging SQL fills {tables} (none of its source files is uploaded yet).",
                       "映射的暂存 SQL 填充 {tables}（它的源文件还都没有上传）。"),
    "read_by_sql": ("read by the mapping's staging SQL", "由映射的暂存 SQL 读取"),
    "table": ("Table", "表"),
    "choose_table": ("Choose the table", "选择表"),
    "choose_table_for": ("Choose the table this file is for.", "请选择这个文件对应的表。"),
    "preview_first": ("first {count} rows, columns named as in the warehouse", "前 {count} 行，列名与数据仓库一致"),
    "renamed": ("renamed {columns}", "已改名 {columns}"),
    "ignored": ("ignored (not in the contract): {columns}", "已忽略（不在约定中）：{columns}"),
    "kept_as_text": ("{table}: kept as written: {values}. If they mean empty, list them in the mapping's null_values "
                     "and import again.",
                     "{table}：已按原文保留：{values}。如果它们表示空值，请在映射的 null_values 中列出它们后重新导入。"),
    "kept_value": ("{column} '{value}' ({rows} row(s))", "{column}“{value}”（{rows} 行）"),
    "checking": ("Checking every row against the contract and the warehouse…", "正在按约定和数据仓库检查每一行…"),
    "no_problems": ("No problems found: {tables}. Ready to import.", "没有发现问题：{tables}。可以导入。"),
    "table_rows": ("{table} {count} rows", "{table} {count} 行"),
    "list_separator": (", ", "，"),
    "problems": ("{count} problem(s) of {kinds} kind(s); fix them and upload the files again. Nothing can be imported "
                 "until then.", "共 {count} 个问题，{kinds} 类；请改正后重新上传文件。在此之前无法导入。"),
    "problem_kind": ("{label} ({kind}): {count}", "{label}（`{kind}`）：{count}"),
    "first_shown": ("First {shown} shown of {count}. CSV rows are numbered as in a spreadsheet (the header is row 1).",
                    "显示 {count} 个中的前 {shown} 个。CSV 的行号与电子表格相同（表头是第 1 行）。"),
    "problem_file": ("File", "文件"), "problem_row": ("Row", "行"), "problem_column": ("Column", "列"),
    "problem_value": ("Value", "值"), "problem_message": ("Problem", "问题"),
    "rows_read": ("Rows read", "读取行"), "rows_unchanged": ("Rows unchanged", "未变行"),
    "import": ("Import", "导入"),
    "import_help": ("Recorded in the import log as '{name}'.", "在导入日志中记为“{name}”。"),
    "starting": ("Starting the import…", "正在开始导入…"),
    "waiting": ("Waiting for another import… Another import or rebuild is writing the warehouse; this one starts as "
                "soon as it has finished (at most {limit} s, setting O2O_WRITE_WAIT_S).",
                "正在等待另一次导入… 另一次导入或重建正在写入数据仓库；它一结束本次导入就开始（最多 {limit} 秒，设置 "
                "O2O_WRITE_WAIT_S）。"),
    "refused": ("Import refused, nothing was written:\n\n```\n{report}\n```", "导入被拒绝，没有写入任何数据：\n\n```\n{report}\n```"),
    "failed": ("The import failed and the warehouse is unchanged: {why}", "导入失败，数据仓库没有变化：{why}"),
    "targets": ("Targets", "目标"),
    "targets_help": ("A goal per KPI for a store, a region or the whole business (scope_id empty) per month (the first "
                     "day of the month). Sums (orders, revenue, costs) are monthly totals, spread evenly over the month's "
                     "days; rates and averages are the level to reach. Shown as attainment on the KPI cards, in the "
                     "weekly summary and report, and as goal lines. A file `targets.csv` imports like any other table.",
                     "每个指标按月（当月第一天）为门店、大区或全公司（scope_id 留空）设定目标。求和类指标（订单、营收、成本）"
                     "是月度总量，平均分摊到当月各天；比率和平均值是要达到的水平。目标以达成率显示在指标卡片、每周摘要和报告中，"
                     "并在图表中画出目标线。文件 `targets.csv` 可以像其他表一样导入。"),
    "download_targets": ("Download targets (CSV)", "下载目标（CSV）"),
    "col_kpi": ("KPI", "指标"),
    "col_scope": ("Scope", "范围"),
    "col_scope_id": ("Store or region", "门店或大区"),
    "col_scope_id_help": ("store_id or region; empty for the whole business", "store_id 或大区；全公司留空"),
    "col_month": ("Month", "月份"),
    "col_month_help": ("The first day of the month", "当月第一天"),
    "col_target": ("Target", "目标"),
    "col_target_help": ("Percent KPIs as a share: 0.85 for 85%", "百分比指标写成比例：85% 写作 0.85"),
    "save_targets": ("Save targets", "保存目标"),
    "targets_waiting": ("Waiting for another import… Another write is under way; the targets are saved when it ends.",
                        "正在等待另一次导入… 另一次写入正在进行；结束后即保存目标。"),
    "targets_refused": ("Targets not saved, nothing was changed:\n\n```\n{report}\n```\nRow 2 is the first target in "
                        "the table above.",
                        "目标未保存，没有任何改动：\n\n```\n{report}\n```\n第 2 行是上表中的第一个目标。"),
    "targets_failed": ("Saving the targets failed and the warehouse is unchanged: {why}", "保存目标失败，数据仓库没有变化：{why}"),
    "targets_saved": ("Saved {count} target(s). Every page now measures against them.", "已保存 {count} 个目标。所有页面现在都以它们为准。"),
    "warehouse": ("warehouse {name}", "数据仓库 {name}"),
    "tab_import": ("Import files", "导入文件"),
    "import_log": ("Import log", "导入日志"),
    "tab_checks": ("Quality checks", "质量检查"),
    "tab_yours": ("Your data", "你的数据"),
    "readers_only": ("Importing data is for analysts and admins. Here are the data-quality findings and row counts of "
                     "the stores you see.", "只有分析师和管理员可以导入数据。这里是你能看到的门店的数据质量检查结果和行数。"),
    "tables": ("Warehouse tables", "数据仓库的表"),
    "no_imports": ("No imports yet: this warehouse was built by the demo generator or by hand.",
                   "还没有导入记录：这个数据仓库由演示数据生成器或手工构建。"),
    "checks_find": ("{found} of {count} checks find something in the warehouse as it stands.",
                    "{count} 项检查中有 {found} 项在当前数据仓库中发现了问题。"),
    "checks_pass": ("All {count} data-quality checks pass.", "全部 {count} 项数据质量检查都通过了。"),
    "show_rows": ("Show the rows of", "显示以下检查的行"),
    "nothing_found": ("{check}: nothing found.", "{check}：没有发现问题。"),
    "mapping_sample": ('date_format = "%Y%m%d"          # e.g. 20160712\nnull_values = ["null", "-"]\n\n'
                       '[columns]                       # your name = the contract\'s\nUser_id     = "customer_id"\n'
                       'Merchant_id = "store_id"\n\n[sources]                       # files staging SQL reads\n'
                       'log = "coupon_log.csv"\n\n[tables.stores]\nsql = """ a DuckDB query over log, '
                       'one column per contract column """',
                       'date_format = "%Y%m%d"          # 例如 20160712\nnull_values = ["null", "-"]\n\n'
                       '[columns]                       # 你的列名 = 约定中的列名\nUser_id     = "customer_id"\n'
                       'Merchant_id = "store_id"\n\n[sources]                       # 暂存 SQL 读取的文件\n'
                       'log = "coupon_log.csv"\n\n[tables.stores]\nsql = """ 基于 log 的 DuckDB 查询，'
                       '每个约定列一列 """'),
    "oversize": ("{names}: larger than the app's upload limit of {limit} MiB (setting O2O_UPLOAD_MAX_MB), so it was not "
                 "read. Import big files on the server with `python -m o2o_ops import TABLE FILE` (limit "
                 "O2O_IMPORT_MAX_MB), or split them.",
                 "{names}：超过应用的上传上限 {limit} MiB（设置 O2O_UPLOAD_MAX_MB），所以没有读取。大文件请在服务器上用 "
                 "`python -m o2o_ops import TABLE FILE` 导入（上限 O2O_IMPORT_MAX_MB），或拆分后上传。"),
})

_add("datacheck", {   # o2o_ops.data_checks.CHECKS' descriptions
    "orphans": ("child rows whose referenced parent is missing", "引用的上级记录不存在的子记录"),
    "date_gaps": ("days without any order between the first and last order", "第一笔和最后一笔订单之间没有任何订单的日子"),
    "stores_without_coordinates": ("stores with no usable lat/lon", "没有可用经纬度的门店"),
    "reviews_without_redemptions": ("reviews of never-redeemed orders", "从未核销的订单收到的评价"),
    "discount_direction": ("campaigns whose discount_rate looks like the share paid, not taken off",
                           "discount_rate 看起来是实付比例而不是折扣比例的活动"),
})

_add("alerts", {   # the Alerts page and a subscription's description
    "note": ("rules, subscriptions and what was sent", "规则、订阅和发送记录"),
    "my_subscriptions": ("My subscriptions", "我的订阅"),
    "fix_users_file": ("{why} Ask the app's administrator to fix the users file.", "{why} 请让应用管理员修正用户文件。"),
    "need_sign_in": ("Subscriptions belong to a person, so they need sign-in (a users file). While the app runs open, a "
                     "rule can still post to a chat webhook of its own (below).",
                     "订阅属于个人，所以需要登录（用户文件）。应用以开放方式运行时，规则仍可以发到它自己的聊天机器人 webhook（见下方）。"),
    "email": ("email {email}", "邮箱 {email}"),
    "no_email": ("no email", "没有邮箱"),
    "chat": ("chat {hook}", "聊天 {hook}"),
    "no_chat": ("no chat webhook", "没有聊天 webhook"),
    "time_zone": ("time zone {zone}", "时区 {zone}"),
    "delivered_to": ("Delivered to: {where} (from the users file; the administrator changes these).",
                     "发送到：{where}（来自用户文件；由管理员修改）。"),
    "no_channels": ("You have neither an email address nor a chat webhook in the users file: your alerts are shown here "
                    "only.", "用户文件中你既没有邮箱也没有聊天 webhook：你的预警只在这里显示。"),
    "alerts": ("Alerts", "预警"),
    "mode_off": ("Off", "关闭"), "mode_immediate": ("Immediately", "立即"), "mode_daily": ("Once a day", "每天一次"),
    "rules_chosen": ("Rules (none chosen: every rule)", "规则（不选：全部规则）"),
    "daily_at": ("Daily summary at (hour, your time zone)", "每日汇总时间（小时，你的时区）"),
    "weekly_digest": ("Weekly digest", "每周摘要"),
    "no_digest": ("No digest", "不要摘要"),
    "day_0": ("Mondays", "每周一"), "day_1": ("Tuesdays", "每周二"), "day_2": ("Wednesdays", "每周三"),
    "day_3": ("Thursdays", "每周四"), "day_4": ("Fridays", "每周五"), "day_5": ("Saturdays", "每周六"),
    "day_6": ("Sundays", "每周日"),
    "digest_at": ("Digest at (hour, your time zone)", "摘要时间（小时，你的时区）"),
    "save_subscriptions": ("Save my subscriptions", "保存我的订阅"),
    "saved": ("Saved: {what}.", "已保存：{what}。"),
    "now": ("Now: {what}.", "当前：{what}。"),
    "sub_off": ("no alerts", "不接收预警"),
    "sub_immediate": ("alerts immediately", "立即接收预警"),
    "sub_daily": ("alerts once a day at {hour}:00", "每天 {hour}:00 接收一次预警"),
    "sub_rule": (" ({count} rule)", "（{count} 条规则）"),
    "sub_rules": (" ({count} rules)", "（{count} 条规则）"),
    "sub_no_digest": ("no weekly digest", "不接收每周摘要"),
    "sub_digest": ("the weekly digest on {day} at {hour}:00", "{day} {hour}:00 接收每周摘要"),
    "sub_both": ("{alerts}; {digest}", "{alerts}；{digest}"),
    "send_test": ("Send me a test message", "给我发一条测试消息"),
    "my_open": ("My open alerts", "我的未关闭预警"),
    "none_open": ("None open.", "没有未关闭的预警。"),
    "open": ("open", "打开"),
    "everyones": ("Open alerts, everyone's", "所有人的未关闭预警"),
    "rules": ("Rules", "规则"),
    "no_rules": ("No rules yet.", "还没有规则。"),
    "analysts_add": (" Analysts and admins add them.", "由分析师和管理员添加。"),
    "only_analysts": ("Only analysts and admins change rules.", "只有分析师和管理员可以修改规则。"),
    "add_a_rule": ("Add a rule", "添加规则"),
    "kind": ("Kind", "类型"),
    "kind_threshold": ("A KPI above or below a value, per store or for the scope as a whole",
                       "指标高于或低于某个值（按门店或整个范围）"),
    "kind_symmetry": ("Stores on the symmetry attention list (over-promising or a falling symmetry index)",
                      "进入一致性关注名单的门店（承诺过高或一致性指数下降）"),
    "kind_freshness": ("No data imported for some days", "若干天没有导入数据"),
    "kind_failed_import": ("An import was refused or failed", "导入被拒绝或失败"),
    "kind_anomaly": ("A store's week unusual for that store (orders, wait, rating, refund rate)",
                     "门店某周表现异于平常（订单、等待、评分、退款率）"),
    "kind_target_missed": ("A KPI missed its target (a store's, a region's or the business's)",
                           "指标未达目标（门店、大区或全公司的目标）"),
    "kind_short_threshold": ("threshold", "阈值"), "kind_short_symmetry": ("symmetry", "一致性"),
    "kind_short_freshness": ("freshness", "数据新鲜度"), "kind_short_failed_import": ("failed_import", "导入失败"),
    "kind_short_anomaly": ("anomaly", "异常"), "kind_short_target_missed": ("target_missed", "未达目标"),
    "name": ("Name", "名称"),
    "kpi": ("KPI", "指标"),
    "when_it_is": ("When it is", "条件"),
    "op_above": ("above", "高于"), "op_below": ("below", "低于"),
    "value": ("Value (in the KPI's unit; a percentage as a fraction, 5% = 0.05)", "数值（指标的单位；百分比写成小数，5% = 0.05）"),
    "for": ("For", "对象"),
    "grain_store": ("each store", "每家门店"), "grain_total": ("the scope as a whole", "整个范围"),
    "window": ("Over the last days of data", "统计数据的最近天数"),
    "min_orders": ("Only with at least this many orders in those days", "仅当这些天的订单至少有这么多时"),
    "fresh_days": ("Alert when nothing was imported for (days)", "多少天没有导入时预警（天）"),
    "target_kpis": ("KPIs (empty: every KPI with a target)", "指标（留空：所有设了目标的指标）"),
    "weeks": ("Over the last complete weeks", "最近完整的周数"),
    "watch": ("Watch (empty: all)", "关注（留空：全部）"),
    "only_worse": ("Only when worse than usual (orders: both ways)", "仅在比平常差时（订单：两个方向）"),
    "within_hours": ("Failures of the last (hours)", "最近多少小时内的失败（小时）"),
    "scope": ("Scope (empty: every store; each person's own scope applies on top). It starts from the sidebar's "
              "filters.", "范围（留空：所有门店；每个人自己的范围另外生效）。初始值取自侧边栏的筛选。"),
    "stores": ("Stores", "门店"), "regions": ("Regions", "大区"), "cities": ("Cities", "城市"),
    "categories": ("Categories", "品类"),
    "also_webhook": ("Also post to a chat webhook of this rule's own (optional)", "同时发到这条规则自己的聊天 webhook（可选）"),
    "webhook_url": ("Webhook URL", "Webhook 地址"),
    "format": ("Format", "格式"),
    "format_generic": ("JSON: kind, subject, text, items, link", "JSON：字段 `kind`、`subject`、`text`、`items`、`link`"),
    "format_slack": ("Slack incoming webhook (text + blocks)", "Slack 传入 webhook（文本 + 区块）"),
    "format_wecom": ("WeCom (企业微信) group robot, markdown", "企业微信群机器人，Markdown"),
    "format_dingtalk": ("DingTalk (钉钉) custom robot, markdown; signed when a secret is set",
                        "钉钉自定义机器人，Markdown；设置密钥时签名"),
    "format_feishu": ("Feishu / Lark (飞书) custom bot, post; signed when a secret is set",
                      "飞书自定义机器人，富文本；设置密钥时签名"),
    "secret": ("Signing secret (DingTalk, Feishu)", "签名密钥（钉钉、飞书）"),
    "add_rule": ("Add rule", "添加规则"),
    "added": ("Added rule {id}: {what}.", "已添加规则 {id}：{what}。"),
    "change_rule": ("Change a rule", "修改规则"),
    "rule": ("Rule", "规则"),
    "enable": ("Enable", "启用"), "disable": ("Disable", "停用"), "delete": ("Delete", "删除"),
    "enabled": ("Rule {id} enabled.", "规则 {id} 已启用。"),
    "disabled": ("Rule {id} disabled.", "规则 {id} 已停用。"),
    "deleted": ("Rule {id} deleted.", "规则 {id} 已删除。"),
    "delivery_log": ("Delivery log", "发送记录"),
    "nothing_sent": ("Nothing sent yet.", "还没有发送过。"),
    "not_delivered": ("{count} message(s) not delivered yet; every run of `alerts run`, `digest send` or the scheduler "
                      "tries again. Last error: {error}",
                      "有 {count} 条消息尚未送达；每次运行 `alerts run`、`digest send` 或定时任务都会重试。最近的错误：{error}"),
    "not_tried": ("not tried yet", "尚未尝试"),
    "give_up_on": ("Give up on", "放弃"),
    "give_up": ("Give up on this delivery", "放弃这次发送"),
    "dropped": ("Delivery #{id} dropped.", "发送 #{id} 已放弃。"),
    "col_id": ("id", "编号"), "col_name": ("name", "名称"), "col_checks": ("checks", "检查内容"),
    "col_kind": ("kind", "类型"), "col_enabled": ("enabled", "启用"), "col_webhook": ("webhook", "聊天 webhook"),
    "col_opened_at": ("opened_at", "开启时间"), "col_audience": ("audience", "对象"), "col_rule": ("rule", "规则"),
    "col_summary": ("summary", "摘要"), "col_link": ("link", "链接"), "col_queued_at": ("queued_at", "排队时间"),
    "col_channel": ("channel", "渠道"), "col_subject": ("subject", "主题"), "col_status": ("status", "状态"),
    "col_tries": ("tries", "尝试次数"), "col_sent_at": ("sent_at", "发送时间"), "col_last_error": ("last_error", "最近错误"),
})

_add("map", {   # the map's tooltip, city bubbles and legend strip (o2o_ops.maps)
    "tooltip_kpi": ("{label}: {value}", "{label}：{value}"),
    "tooltip_orders": ("Orders: {value}", "订单数：{value}"),
    "city": ("City", "城市"),
    "city_store": ("{count} store", "{count} 家门店"),
    "city_stores": ("{count} stores", "{count} 家门店"),
    "city_need": (" · {count} needs attention now", " · {count} 家现在需要关注"),
    "city_needs": (" · {count} need attention now", " · {count} 家现在需要关注"),
    "legend_empty": ("{label}: no values for these filters", "{label}：在这些筛选条件下没有数值"),
    "legend_why": ("{label}: {why}", "{label}：{why}"),
    "kpi_not_provided": ("{label} (not provided)", "{label}（未提供）"),
    "legend_colour": ("{label} (colour)", "{label}（颜色）"),
    "legend_key": ("· size = orders · grey = no value", "· 大小 = 订单数 · 灰色 = 无数值"),
})

_add("alerts", {   # an alert rule in one sentence (o2o_ops.alerts.rules.Rule.describe)
    "rule_list_separator": (", ", "、"),
    "rule_last_week": ("the last complete week", "最近一个完整周"),
    "rule_last_weeks": ("the last {weeks} complete weeks", "最近 {weeks} 个完整周"),
    "rule_threshold": ("{kpi} {op} {value} {grain}, last {days} days", "{kpi}{op} {value}（{grain}），最近 {days} 天"),
    "rule_op_above": ("above", "高于"), "rule_op_below": ("below", "低于"),
    "rule_per_store": ("per store", "按门店"), "rule_as_whole": ("for the scope as a whole", "按整个范围"),
    "rule_min_orders": (", with at least {count} orders", "，至少 {count} 笔订单"),
    "rule_symmetry": ("Stores on the symmetry attention list, last {days} days", "进入一致性关注名单的门店，最近 {days} 天"),
    "rule_freshness": ("No import for {days} days", "{days} 天没有导入"),
    "rule_any_kpi": ("any KPI", "任何指标"),
    "rule_target_missed": ("Targets missed ({what}), {weeks}", "未达目标（{what}），{weeks}"),
    "rule_only_worse": ("; only worse than usual", "；仅比平常差时"),
    "rule_anomaly": ("Unusual store weeks ({what}{worse}), {weeks}", "门店异常周（{what}{worse}），{weeks}"),
    "rule_failed_import": ("An import refused or failed in the last {hours} hours", "最近 {hours} 小时内有导入被拒绝或失败"),
    "col_created_by": ("created by", "创建人"),
    "col_blind_to": ("cannot see", "无法判断"),
    "blind_warning": ("These rules watch what this warehouse does not hold for the stretch they look at (never "
                      "imported, or too little of it). They cannot fire on it, so their silence is no all-clear:",
                      "以下规则关注的数据，此数据仓库在其查看的时段内没有（从未导入或数量太少）。它们无法就此发出警报，"
                      "所以没有警报并不代表一切正常："),
    "blind_rule": ("**{name}** cannot see {what}.", "**{name}** 无法判断：{what}。"),
    "open_demo": ("open demo", "开放演示"),
})

_add("data", {   # the contract's tables, as the Data page's table picker names them in Chinese
    "table_stores": ("stores", "门店"), "table_campaigns": ("campaigns", "活动"), "table_customers": ("customers", "顾客"),
    "table_orders": ("orders", "订单"), "table_redemptions": ("redemptions", "核销"), "table_reviews": ("reviews", "评价"),
    "table_refunds": ("refunds", "退款"), "table_costs": ("costs", "成本"), "table_store_hours": ("store_hours", "营业时间"),
    "table_inspections": ("inspections", "检查"), "table_events": ("events", "线上事件"), "table_targets": ("targets", "目标"),
})
